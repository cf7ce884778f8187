-- Refresh tokens: only their SHA-256 is stored. Each login starts a family; every refresh uses
-- one token and issues the next of the same family. A token used twice means it was stolen:
-- the whole family is revoked.
CREATE TABLE refresh_tokens
(
    token_hash bytea       PRIMARY KEY,
    family_id  uuid        NOT NULL,
    user_id    uuid        NOT NULL REFERENCES users (user_id),
    issued_at  timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    revoked_at timestamptz
);

CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
