-- The event store: postgres-es' `events` table, plus the two columns that give readers one
-- global, gap-safe order (see docs/architecture.md, "Event store order").
--
-- `global_position` alone is not safe: a transaction that took position 7 can commit after one
-- that took 8. Readers therefore order by (transaction_id, global_position) and only read events
-- whose transaction is older than every transaction still running.
CREATE TABLE events
(
    aggregate_type  text   NOT NULL,
    aggregate_id    text   NOT NULL,
    sequence        bigint NOT NULL CHECK (sequence >= 1),
    event_type      text   NOT NULL,
    event_version   text   NOT NULL,
    payload         jsonb  NOT NULL,
    metadata        jsonb  NOT NULL,
    global_position bigint GENERATED ALWAYS AS IDENTITY,
    transaction_id  xid8   NOT NULL DEFAULT pg_current_xact_id(),
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
);

CREATE UNIQUE INDEX events_global_order ON events (transaction_id, global_position);

-- Events are facts: they are never changed or deleted.
CREATE FUNCTION events_are_immutable() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    RAISE EXCEPTION 'events are immutable: % is not allowed', TG_OP;
END;
$$;

CREATE TRIGGER events_immutable
    BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_are_immutable();
