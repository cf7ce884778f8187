-- Personal data in the event store (infrastructure/src/privacy.rs, docs/privacy.md).
--
-- Events are immutable, so the personal fields of call events (the caller's number, what was
-- said, messages, recording URLs, summaries) are stored encrypted, each call's under a data key
-- kept here, outside the event stream. Deleting a key row is the erasure: the events stay and
-- still replay, but their personal fields open as `[erased]`.

-- One data key per call, owned by its business and caller and dated by the call's UTC day:
-- erasing a caller destroys every key of (business, caller), retention every key of a business
-- older than N days. The key's id is the call's sid, named in every value it seals. A key is
-- stored by the same statement that appends the call's first events (no extra round trip or
-- commit on the incoming-call webhook). `business_id` is the nil UUID for calls that rang for no
-- business; `caller_digest` is hex SHA-256 of the business id and the caller (E.164, `withheld`,
-- or what Twilio sent), so the table does not hold the number itself. `wrapped_key` is the data
-- key sealed with ENCRYPTION_KEY: `<encryption key id>:<base64(nonce ‖ ciphertext)>`, so a
-- rotated ENCRYPTION_KEY still opens it while it is listed in ENCRYPTION_KEYS_RETIRED.
--
-- Erasure sets `wrapped_key` and `caller_digest` to null: the key is gone for good, and the row
-- stays to say so, so new personal data for an erased call (a late recording callback) is
-- stored as `[erased]`, told apart from a call recorded before encryption (no row: plain).
CREATE TABLE personal_data_keys
(
    key_id        text        PRIMARY KEY,
    business_id   uuid        NOT NULL,
    caller_digest text,
    day           date        NOT NULL,
    wrapped_key   text,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- Erasure finds a caller's keys; retention a business' keys older than N days.
CREATE INDEX personal_data_keys_by_caller ON personal_data_keys (business_id, caller_digest)
    WHERE wrapped_key IS NOT NULL;
CREATE INDEX personal_data_keys_by_day ON personal_data_keys (business_id, day)
    WHERE wrapped_key IS NOT NULL;

-- How long each business keeps recordings and transcripts (`RetentionSet`, days; absent or null:
-- for ever), for the daily retention job. Written by the job's command handler beside the
-- event, read by the job; the event is the record.
CREATE TABLE privacy_retention
(
    business_id uuid    PRIMARY KEY,
    days        integer CHECK (days > 0)
);
