-- The personalization pipeline's second query: every valid click event, as it arrives,
-- joined with its user's profile from Redis (written by profiles.sql) by a
-- processing-time lookup join, and written to the topic personalization.enriched-clicks
-- for the services that rank and recommend. A user without a profile gets NULLs.
-- docs/personalization.md walks through it.
--   dflc run examples/personalization/enrich.sql
-- (`--set clicks.properties.bootstrap.servers=HOST:PORT --set profiles.url=redis://HOST:PORT`
-- for other services.)

SET 'pipeline.name' = 'personalization-enrich';

CREATE TABLE clicks (
  user_id    BIGINT NOT NULL,
  item_id    BIGINT,
  category   STRING,
  event_type STRING,
  price      DECIMAL(10, 2),
  ts         TIMESTAMP(3) NOT NULL,
  proc_time  AS PROCTIME()
) WITH (
  'connector' = 'kafka',
  'topic' = 'personalization.clicks',
  'properties.bootstrap.servers' = '127.0.0.1:19092',
  'properties.group.id' = 'personalization-enrich',
  'scan.startup.mode' = 'group-offsets',
  'properties.auto.offset.reset' = 'earliest',
  'format' = 'json',
  -- profiles.sql already dead-letters the records that cannot be read.
  'scan.errors' = 'skip'
);

-- The profiles as profiles.sql writes them: a hash per user under profile:{user_id}.
-- Lookups are cached for up to 10,000 users, each for a minute (profiles change once a
-- minute at most).
CREATE TABLE profiles (
  user_id     BIGINT NOT NULL,
  top1        STRING,
  top1_clicks BIGINT,
  top2        STRING,
  top2_clicks BIGINT,
  top3        STRING,
  top3_clicks BIGINT,
  top_spend   DECIMAL(38, 2),
  window_end  TIMESTAMP(3),
  PRIMARY KEY (user_id) NOT ENFORCED
) WITH (
  'connector' = 'redis',
  'url' = 'redis://127.0.0.1:16379',
  'key' = 'profile:{user_id}',
  'lookup.cache.max-rows' = '10000',
  'lookup.cache.ttl' = '1 min'
);

CREATE TABLE enriched_clicks (
  user_id        BIGINT NOT NULL,
  item_id        BIGINT,
  category       STRING,
  event_type     STRING,
  price          DECIMAL(10, 2),
  ts             TIMESTAMP(3),
  top1           STRING,
  top2           STRING,
  top3           STRING,
  -- 3 when the event's category is the user's first, 2 second, 1 third, else 0.
  affinity       INT,
  profile_as_of  TIMESTAMP(3)
) WITH (
  'connector' = 'kafka',
  'topic' = 'personalization.enriched-clicks',
  'properties.bootstrap.servers' = '127.0.0.1:19092',
  'key.format' = 'json',
  'key.fields' = 'user_id',
  'value.format' = 'json'
);

INSERT INTO enriched_clicks
SELECT
  e.user_id, e.item_id, e.category, e.event_type, e.price, e.ts,
  p.top1, p.top2, p.top3,
  CASE WHEN e.category = p.top1 THEN 3
       WHEN e.category = p.top2 THEN 2
       WHEN e.category = p.top3 THEN 1
       ELSE 0 END,
  p.window_end
FROM (
  -- The clicks profiles.sql counts: the same validation (its `problem IS NULL`).
  SELECT user_id, item_id, LOWER(TRIM(category)) AS category, event_type, price, ts, proc_time
  FROM clicks
  WHERE event_type IN ('click', 'cart', 'purchase')
    AND price >= 0
    AND CHAR_LENGTH(TRIM(category)) > 0
) AS e
LEFT JOIN profiles FOR SYSTEM_TIME AS OF e.proc_time AS p
  ON p.user_id = e.user_id;
