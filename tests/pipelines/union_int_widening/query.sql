-- PENDING (bug): a UNION ALL branch whose column is narrower than the union's column
-- type (INT under BIGINT) is not widened: the generated Rust does not compile (E0308,
-- expected Option<i64>, found Option<i32>). Expected output computed by hand.
-- UNION ALL of a JSON source and a CSV source (INT widened to BIGINT) into one sink,
-- each side filtered and shaped differently.
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
  uid     INT,
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
SELECT user_id, 'web', REGEXP_REPLACE(url, '^https?://', ''), ms
FROM web
WHERE url LIKE 'http%'
UNION ALL
SELECT uid, 'app', LOWER(screen), CAST(seconds * 1000 AS BIGINT)
FROM app
WHERE uid > 0;
