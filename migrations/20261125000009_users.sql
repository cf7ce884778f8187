-- Accounts. Users are not part of the call domain, so they are a plain table; every change to
-- a user is still recorded, in `user_changes`, with who made it.
CREATE TABLE users
(
    user_id       uuid        PRIMARY KEY,
    email         text        NOT NULL UNIQUE,
    password_hash text        NOT NULL,
    first_name    text        NOT NULL,
    last_name     text        NOT NULL,
    role          text        NOT NULL CHECK (role IN ('admin', 'business_owner')),
    active        boolean     NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE user_changes
(
    change_id  bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users (user_id),
    change     text        NOT NULL,
    actor      text        NOT NULL,
    details    jsonb       NOT NULL DEFAULT '{}',
    changed_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX user_changes_by_user ON user_changes (user_id, change_id);
