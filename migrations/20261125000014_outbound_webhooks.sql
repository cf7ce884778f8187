-- Outbound webhooks (infrastructure/src/webhooks.rs, docs/webhooks.md): the HTTPS endpoints a
-- business registers, the dispatcher's place in the global stream, one delivery per event and
-- endpoint, and one row per try of a delivery (the delivery log).
--
-- The dispatcher reads the global stream like the summariser: for every call event a business'
-- endpoints asked for, it queues one delivery per endpoint and moves its checkpoint in the same
-- transaction, so a crash neither loses an event nor queues one twice; (endpoint_id, webhook_id)
-- is unique besides. A delivery keeps its `webhook_id` (`msg_<global position>`) for every retry
-- and every "send again", which is what lets a receiver deduplicate.

CREATE TABLE webhook_endpoints
(
    id                          uuid        PRIMARY KEY,
    business_id                 uuid        NOT NULL,
    url                         text        NOT NULL,
    -- `call.ended`, `message.taken`, `call.summarized`.
    event_types                 text[]      NOT NULL,
    -- The signing secret, sealed with the vault (ENCRYPTION_KEY) and bound to this endpoint's
    -- id, so it opens for no other endpoint. The plain secret is shown once, when registered.
    secret_key_id               text        NOT NULL,
    secret_ciphertext           text        NOT NULL,
    active                      boolean     NOT NULL DEFAULT true,
    -- Which transactions had committed when it was registered: it receives the events of the
    -- others only (`pg_visible_in_snapshot`), that is, what happened after.
    registered_snapshot         pg_snapshot NOT NULL DEFAULT pg_current_snapshot(),
    created_at                  timestamptz NOT NULL DEFAULT now(),
    -- The user who registered it (NULL: the CLI or a test).
    created_by                  uuid,
    deleted_at                  timestamptz
);

CREATE INDEX webhook_endpoints_business ON webhook_endpoints (business_id) WHERE deleted_at IS NULL;

CREATE TABLE webhook_checkpoints
(
    name            text        PRIMARY KEY,
    transaction_id  bigint      NOT NULL DEFAULT 0,
    global_position bigint      NOT NULL DEFAULT 0,
    -- How many deliveries it has queued in all.
    queued          bigint      NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhook_deliveries
(
    id               uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    endpoint_id      uuid        NOT NULL REFERENCES webhook_endpoints (id),
    -- The Standard Webhooks message id (`webhook-id` header): `msg_<global position>`.
    webhook_id       text        NOT NULL,
    event_type       text        NOT NULL,
    -- The global position of the event it tells of.
    global_position  bigint      NOT NULL,
    -- The body, exactly as sent (serialised from this value on every try).
    payload          jsonb       NOT NULL,
    status           text        NOT NULL DEFAULT 'pending'
                                 CHECK (status IN ('pending', 'delivered', 'failed')),
    -- Failed tries in the current series (a "send again" starts a new series).
    attempts         integer     NOT NULL DEFAULT 0,
    series           integer     NOT NULL DEFAULT 1,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_status_code integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    UNIQUE (endpoint_id, webhook_id)
);

-- The dispatcher's question: which deliveries are due?
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
-- The delivery log, newest first.
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (endpoint_id, created_at DESC);

CREATE TABLE webhook_attempts
(
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id  uuid        NOT NULL REFERENCES webhook_deliveries (id),
    series       integer     NOT NULL,
    attempted_at timestamptz NOT NULL DEFAULT now(),
    -- The receiver's HTTP status, when it answered.
    status_code  integer,
    -- Why the try failed (a status outside 2xx, a timeout, no connection), NULL when delivered.
    error        text,
    duration_ms  integer     NOT NULL
);

CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);
