-- Date and time functions: formatting, fields, rounding to units, parsing, epoch seconds,
-- timestamp literals and interval arithmetic (day-time and year-month), in UTC.
-- TO_TIMESTAMP(s, format) falls back to the default format when the pattern does not
-- match, as Flink does.
SET 'table.local-time-zone' = 'UTC';

CREATE TABLE events (
  id  INT,
  ts  TIMESTAMP(3),
  raw STRING
) WITH (
  'connector' = 'filesystem',
  'path' = 'input/events.json',
  'format' = 'json'
);

CREATE TABLE timed (
  id          INT,
  fmt         STRING,
  fmt_ms      STRING,
  yr          BIGINT,
  mon         BIGINT,
  dow         BIGINT,
  doy         BIGINT,
  qtr         BIGINT,
  hour_start  TIMESTAMP(3),
  next_hour   TIMESTAMP(3),
  day_start   TIMESTAMP(3),
  hr          BIGINT,
  mi          BIGINT,
  sec         BIGINT,
  parsed      TIMESTAMP(3),
  parsed_fmt  TIMESTAMP(3),
  epoch       BIGINT,
  epoch_fmt   BIGINT,
  next_day    TIMESTAMP(3),
  next_month  TIMESTAMP(3),
  earlier     TIMESTAMP(3),
  lit         TIMESTAMP(3),
  day         DATE,
  two_h_later TIMESTAMP(3),
  in_2024     BOOLEAN
) WITH (
  'connector' = 'filesystem',
  'path' = 'out/timed/',
  'format' = 'json'
);

INSERT INTO timed
SELECT
  id,
  DATE_FORMAT(ts, 'yyyy/MM/dd HH:mm'),
  DATE_FORMAT(ts, 'HH:mm:ss.SSS'),
  EXTRACT(YEAR FROM ts),
  EXTRACT(MONTH FROM ts),
  EXTRACT(DOW FROM ts),
  EXTRACT(DOY FROM ts),
  EXTRACT(QUARTER FROM ts),
  FLOOR(ts TO HOUR),
  CEIL(ts TO HOUR),
  FLOOR(ts TO DAY),
  HOUR(ts),
  MINUTE(ts),
  SECOND(ts),
  TO_TIMESTAMP(raw),
  TO_TIMESTAMP(raw, 'dd/MM/yyyy HH:mm'),
  UNIX_TIMESTAMP(DATE_FORMAT(ts, 'yyyy-MM-dd HH:mm:ss')),
  CASE WHEN id = 3 THEN UNIX_TIMESTAMP(raw, 'dd/MM/yyyy HH:mm') END,
  ts + INTERVAL '1' DAY,
  ts + INTERVAL '1' MONTH,
  ts - INTERVAL '1:30' HOUR TO MINUTE,
  TIMESTAMP '2024-01-01 00:00:00' + INTERVAL '90' MINUTE,
  CAST(ts AS DATE),
  ts + INTERVAL '2' HOUR,
  ts >= TIMESTAMP '2024-01-01 00:00:00'
FROM events;
