-- Where the RabbitMQ relay stands in the global stream (see docs/integration.md and
-- infrastructure/src/relay.rs).
--
-- The events table is the relay's outbox: the relay publishes events in stream order and moves
-- its checkpoint only after the broker confirmed them, so after a crash or a broker outage it
-- resumes here and nothing is lost (some messages may be published twice: at least once).
-- A position is the pair (transaction_id, global_position) of the last confirmed event, as for
-- every reader of the global stream (docs/architecture.md, "Event store order").
CREATE TABLE relay_checkpoints
(
    name            text        PRIMARY KEY,
    transaction_id  bigint      NOT NULL DEFAULT 0,
    global_position bigint      NOT NULL DEFAULT 0,
    -- How many events this relay has had confirmed in all (republished ones count again).
    published       bigint      NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
