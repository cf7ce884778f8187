-- Owner notifications (infrastructure/src/notifications.rs): where the notifier stands in the
-- global stream, and the notifications it still has to send.
--
-- A job is one happening on a call that may notify the owner (a message taken, a voicemail, a
-- call that ended): its id is the global position of that event, so the stream reader, a
-- RabbitMQ redelivery or a second node queue it once. The channels (SMS, email) are decided
-- when it runs, from the business' settings then; each channel's outcome is an event on the
-- call (`OwnerNotified` / `OwnerNotificationFailed`) with the id `<global_position>-<channel>`,
-- and the job is deleted once every channel has one. Any node works on due jobs: a worker
-- claims one by moving `next_attempt_at` past a lease, under `FOR UPDATE SKIP LOCKED`, so two
-- nodes never send the same job at the same time, and a crashed worker's job comes back when
-- the lease ends.
CREATE TABLE notification_checkpoints
(
    name            text        PRIMARY KEY,
    transaction_id  bigint      NOT NULL DEFAULT 0,
    global_position bigint      NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE notification_jobs
(
    global_position bigint      PRIMARY KEY,
    call_sid        text        NOT NULL,
    -- The event's number within the call (to read it back, opened, from the call's events).
    sequence        bigint      NOT NULL,
    -- `message_taken`, `voicemail_recorded` or `call_ended` (a missed call, if it was one).
    happening       text        NOT NULL,
    queued_at       timestamptz NOT NULL DEFAULT now(),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- Why the last attempt did not finish (a failure, or the quiet hours it waits out).
    last_error      text
);

CREATE INDEX notification_jobs_due ON notification_jobs (next_attempt_at);
