-- The post-call summariser (infrastructure/src/summarizer.rs): where it stands in the global
-- stream, and the calls it still has to summarise.
--
-- The summariser reads the global stream like the relay and the projections. For every call that
-- ended with an AI conversation it queues a job, and it moves its checkpoint in the same
-- transaction, so a crash neither loses a call nor queues one twice. A job is deleted only after
-- the call's outcome (`CallSummarized` or `CallSummaryFailed`) is in the event store; until then
-- it survives restarts, with its attempts counted, so OpenAI failing for one call never holds up
-- the others and the dead-letter rule ("give up after N attempts over M minutes") outlives a
-- restart. A position is the pair (transaction_id, global_position), as for every reader of the
-- global stream (docs/architecture.md, "Event store order").
CREATE TABLE summary_checkpoints
(
    name            text        PRIMARY KEY,
    transaction_id  bigint      NOT NULL DEFAULT 0,
    global_position bigint      NOT NULL DEFAULT 0,
    -- How many jobs it has queued in all.
    queued          bigint      NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE summary_jobs
(
    call_sid        text        PRIMARY KEY,
    -- The global position of the event that queued the job (the call's `CallEnded` or
    -- `AiSessionEnded`): the causation `summary:<global_position>` of the outcome.
    global_position bigint      NOT NULL,
    queued_at       timestamptz NOT NULL DEFAULT now(),
    -- Failed tries so far (OpenAI rate-limited, failing or unreachable).
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text
);

-- The worker's question: which jobs are due?
CREATE INDEX summary_jobs_due ON summary_jobs (next_attempt_at);
