-- Where each projection stands in the global stream. A projection applies a batch of events and
-- moves its checkpoint in one transaction, so a crash never applies an event twice or skips one.
-- Each projection keeps its tables in a schema of its own, `rm_<name>`, so a rebuild can build a
-- fresh copy beside it and swap the two schemas atomically.
CREATE TABLE projection_checkpoints
(
    name            text        PRIMARY KEY,
    version         integer     NOT NULL,
    transaction_id  bigint      NOT NULL DEFAULT 0,
    global_position bigint      NOT NULL DEFAULT 0,
    events_applied  bigint      NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
