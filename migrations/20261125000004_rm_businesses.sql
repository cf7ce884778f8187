-- Read model `businesses` (projection `businesses`): one row per business, as management pages
-- and the REST API list them. `state` keeps the folded aggregate, so the projection can apply
-- the next events exactly as the write side does.
CREATE SCHEMA rm_businesses;

CREATE TABLE rm_businesses.businesses
(
    business_id         uuid        PRIMARY KEY,
    name                text        NOT NULL,
    description         text        NOT NULL,
    owner_user_id       uuid,
    owner_phone         text,
    timezone            text        NOT NULL,
    hours               jsonb       NOT NULL,
    owner_available     boolean     NOT NULL,
    ring_timeout_secs   integer     NOT NULL,
    agent_model         text,
    agent_voice         text,
    agent_key_last_four text,
    agent_enabled       boolean     NOT NULL,
    active              boolean     NOT NULL,
    registered_at       timestamptz,
    updated_at          timestamptz,
    last_sequence       bigint      NOT NULL,
    state               jsonb       NOT NULL
);

CREATE INDEX businesses_by_owner ON rm_businesses.businesses (owner_user_id);
CREATE INDEX businesses_by_name ON rm_businesses.businesses (lower(name));
