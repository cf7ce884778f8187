-- Read model `phone_numbers` (projection `phone_numbers`, projections/src/phone_numbers): every
-- number we hold or held, for the numbers page and the admin overview.
-- No serial or identity columns: rebuilds copy the table with `LIKE … INCLUDING ALL`.
CREATE SCHEMA rm_phone_numbers;

CREATE TABLE rm_phone_numbers.numbers
(
    number                text        PRIMARY KEY,
    twilio_sid            text        NOT NULL,
    country               text        NOT NULL,
    area_code             text,
    business_id           uuid,
    -- 'active', 'suspended', 'released'.
    status                text        NOT NULL,
    suspension_reason     text,
    monthly_cost_amount   numeric     NOT NULL,
    monthly_cost_currency text        NOT NULL,
    provisioned_at        timestamptz,
    updated_at            timestamptz,
    last_sequence         bigint      NOT NULL
);

CREATE INDEX numbers_by_business ON rm_phone_numbers.numbers (business_id);
