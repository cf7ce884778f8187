-- Read model `calls` (projection `calls`, projections/src/calls): one row per call for the calls
-- list and the call detail page, the call's timeline (every event, the seed's "Call Events"), and
-- the AI conversation's transcript.
--
-- No serial or identity columns: a rebuild copies these tables with
-- `CREATE TABLE … (LIKE … INCLUDING ALL)` into a scratch schema and swaps it in.
-- Values of the text enums (route, handled_by, status, owner_outcome, reject_reason) and the
-- rules that set them are documented in projections/src/calls/projection.rs and
-- docs/projections.md.
CREATE SCHEMA rm_calls;

CREATE TABLE rm_calls.calls
(
    call_sid                text        PRIMARY KEY,
    business_id             uuid,
    -- Twilio's `To`, verbatim.
    phone_number            text        NOT NULL,
    -- E.164, 'withheld', or what Twilio sent (a SIP address…).
    caller                  text,
    -- The latest route: 'owner', 'ai', 'voicemail'.
    route                   text,
    -- Who dealt with the caller: 'owner', 'voicemail', 'ai' (in that precedence), or null.
    handled_by              text,
    -- 'ringing', 'in_progress', Twilio's final status ('completed', 'busy', 'failed',
    -- 'no_answer', 'canceled'), or 'rejected'.
    status                  text        NOT NULL,
    reject_reason           text,
    -- 'answered' or the miss reason of the latest ring of the owner's phone.
    owner_outcome           text,
    started_at              timestamptz NOT NULL,
    ended_at                timestamptz,
    duration_secs           integer,
    summary                 text,
    -- The last message taken: {caller_name, callback_number, message, urgency}.
    message                 jsonb,
    messages_taken          integer     NOT NULL DEFAULT 0,
    voicemail_url           text,
    voicemail_duration_secs integer,
    recording_sid           text,
    recording_url           text,
    recording_duration_secs integer,
    cost_amount             numeric,
    cost_currency           text,
    last_sequence           bigint      NOT NULL
);

-- The list, newest first, for one business (or a few), with a stable keyset order.
CREATE INDEX calls_by_business ON rm_calls.calls (business_id, started_at DESC, call_sid DESC);
CREATE INDEX calls_by_business_route ON rm_calls.calls (business_id, route, started_at DESC, call_sid DESC);
CREATE INDEX calls_by_business_status ON rm_calls.calls (business_id, status, started_at DESC, call_sid DESC);
-- The admin's list of every call, and "calls today".
CREATE INDEX calls_by_start ON rm_calls.calls (started_at DESC, call_sid DESC);

-- The timeline: every event of a call, in order. `data` is the event's inner object, as `json`
-- (kept as written, only shown): cheaper to write than `jsonb`, which a rebuild pays per event.
CREATE TABLE rm_calls.call_events
(
    call_sid    text        NOT NULL,
    sequence    bigint      NOT NULL,
    event_type  text        NOT NULL,
    data        json        NOT NULL,
    actor       text,
    occurred_at timestamptz,
    PRIMARY KEY (call_sid, sequence)
);

-- What was said between the caller and the AI agent; `sequence` is the event's.
CREATE TABLE rm_calls.transcript_segments
(
    call_sid  text   NOT NULL,
    sequence  bigint NOT NULL,
    speaker   text   NOT NULL,
    text      text   NOT NULL,
    offset_ms bigint NOT NULL,
    PRIMARY KEY (call_sid, sequence)
);
