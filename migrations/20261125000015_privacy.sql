-- Personal data in the event store (infrastructure/src/privacy.rs, docs/privacy.md).
--
-- Events are immutable, so the personal fields of call events (the caller's number, what was
-- said, messages, recording URLs, summaries) are stored encrypted, each call's under a data key
-- kept here, outside the event stream. Deleting a key row is the erasure: the events stay and
-- still replay, but their personal fields open as `[erased]`.

-- One data key per business, caller and UTC day of the call (the day lets retention erase by
-- age). `business_id` is the nil UUID for calls that rang for no business; `caller_digest` is
-- hex SHA-256 of the business id and the caller (E.164, `withheld`, or what Twilio sent), so the
-- table does not hold the number itself. `wrapped_key` is the data key sealed with
-- ENCRYPTION_KEY: `<encryption key id>:<base64(nonce ‖ ciphertext)>`, so a rotated
-- ENCRYPTION_KEY still opens it while it is listed in ENCRYPTION_KEYS_RETIRED.
CREATE TABLE personal_data_keys
(
    key_id        text        PRIMARY KEY,
    business_id   uuid        NOT NULL,
    caller_digest text        NOT NULL,
    day           date        NOT NULL,
    wrapped_key   text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (business_id, caller_digest, day)
);

-- Retention erases a business' keys older than N days.
CREATE INDEX personal_data_keys_by_day ON personal_data_keys (business_id, day);

-- The key each call's events are sealed with, chosen once at `CallReceived`. `key_id` becomes
-- null when the key is erased, so a call whose key is gone (new personal data for it is stored
-- as `[erased]`) is told apart from a call recorded before encryption (no row: stored plain).
CREATE TABLE call_data_keys
(
    call_sid   text        PRIMARY KEY,
    key_id     text        REFERENCES personal_data_keys (key_id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX call_data_keys_by_key ON call_data_keys (key_id);

-- How long each business keeps recordings and transcripts (`RetentionSet`, days; absent or null:
-- for ever), for the daily retention job. Written by the job's command handler beside the
-- event, read by the job; the event is the record.
CREATE TABLE privacy_retention
(
    business_id uuid    PRIMARY KEY,
    days        integer CHECK (days > 0)
);
