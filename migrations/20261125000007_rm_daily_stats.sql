-- Read model `daily_stats` (projection `daily_stats`, projections/src/daily_stats): per business
-- and local day (in the business' timezone), how many calls and what became of them.
-- No serial or identity columns: rebuilds copy the tables with `LIKE … INCLUDING ALL`.
CREATE SCHEMA rm_daily_stats;

-- The counters. Each call is in at most one of answered_by_owner, handled_by_ai, voicemails,
-- missed, rejected (see projections/src/daily_stats/projection.rs for the rules).
CREATE TABLE rm_daily_stats.daily_stats
(
    business_id         uuid    NOT NULL,
    day                 date    NOT NULL,
    calls               bigint  NOT NULL DEFAULT 0,
    answered_by_owner   bigint  NOT NULL DEFAULT 0,
    handled_by_ai       bigint  NOT NULL DEFAULT 0,
    voicemails          bigint  NOT NULL DEFAULT 0,
    missed              bigint  NOT NULL DEFAULT 0,
    rejected            bigint  NOT NULL DEFAULT 0,
    ended_calls         bigint  NOT NULL DEFAULT 0,
    -- Ended calls whose duration Twilio gave: the denominator of the average duration.
    timed_calls         bigint  NOT NULL DEFAULT 0,
    total_duration_secs bigint  NOT NULL DEFAULT 0,
    total_cost          numeric NOT NULL DEFAULT 0,
    cost_currency       text,
    PRIMARY KEY (business_id, day)
);

-- The timezone of each business as the stream has told it so far.
CREATE TABLE rm_daily_stats.business_timezones
(
    business_id uuid PRIMARY KEY,
    timezone    text NOT NULL
);

-- What each call currently contributes to the counters, so a fact that arrives late (or twice)
-- moves each counter once: the projection compares the call's new facts with these.
CREATE TABLE rm_daily_stats.call_facts
(
    call_sid       text    PRIMARY KEY,
    business_id    uuid    NOT NULL,
    day            date    NOT NULL,
    rejected       boolean NOT NULL,
    owner_answered boolean NOT NULL,
    voicemail      boolean NOT NULL,
    ai             boolean NOT NULL,
    ended          boolean NOT NULL,
    duration_secs  bigint,
    cost_amount    numeric,
    cost_currency  text,
    last_sequence  bigint  NOT NULL
);
