-- UNION ALL of a JSON source and a CSV source (a folder with a nested folder; hidden and
-- '_' files are not read) into one sink, each side filtered and shaped differently.
CREATE TABLE web (
  user_id BIGINT,
  url     STRING,
  ms      INT
) WITH (
  'connector' = 'filesystem',
  'path' = 'input/web.json',
  'format' = 'json'
);

CREATE TABLE app (
  uid     BIGINT,
  screen  STRING,
  seconds DOUBLE
) WITH (
  'connector' = 'filesystem',
  'path' = 'input/app/',
  'format' = 'csv'
);

CREATE TABLE activity (
  user_id BIGINT,
  channel STRING,
  what    STRING,
  millis  BIGINT
) WITH (
  'connector' = 'filesystem',
  'path' = 'out/activity/',
  'format' = 'json'
);

INSERT INTO activity
SELECT user_id, 'web', REGEXP_REPLACE(url, '^https?://', ''), CAST(ms AS BIGINT)
FROM web
WHERE url LIKE 'http%'
UNION ALL
SELECT uid, 'app', LOWER(screen), CAST(seconds * 1000 AS BIGINT)
FROM app
WHERE uid > 0;
