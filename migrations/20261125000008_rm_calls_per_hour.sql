-- Read model `calls_per_hour` (projection `calls_per_hour`, projections/src/calls_per_hour): the
-- analysts' worked example of docs/projections.md. Calls received per business and hour of the
-- day (0–23), in the business' local time.
-- No serial or identity columns: rebuilds copy the tables with `LIKE … INCLUDING ALL`.
CREATE SCHEMA rm_calls_per_hour;

CREATE TABLE rm_calls_per_hour.calls_per_hour
(
    business_id uuid     NOT NULL,
    hour        smallint NOT NULL CHECK (hour BETWEEN 0 AND 23),
    calls       bigint   NOT NULL,
    PRIMARY KEY (business_id, hour)
);

-- The timezone of each business as the stream has told it so far.
CREATE TABLE rm_calls_per_hour.business_timezones
(
    business_id uuid PRIMARY KEY,
    timezone    text NOT NULL
);
