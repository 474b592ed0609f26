-- The personalization pipeline: click events from Kafka become per-user profiles in Redis
-- and in a compacted Kafka topic. docs/personalization.md walks through it.
--
--   clicks (Kafka, JSON)
--     → validated: unreadable records and records without user_id or ts go to the
--       dead-letter topic personalization.clicks-dlq; clicks of an unknown event type,
--       without a price or with a negative one, or without a category go to the topic
--       personalization.clicks-rejected with the reason
--     → per user and category, per 1-minute tumbling window: clicks, purchases, spend
--         → the topic personalization.category-minute (appended, keyed by user)
--     → per user and category, per 5-minute window sliding every minute: clicks, spend
--         → each user's top-3 categories of every window (window Top-N)
--         → one profile row per user and window
--         → Redis hashes profile:{user_id} and the compacted topic personalization.profiles
--
-- Against the services of scripts/services.sh (broker 127.0.0.1:19092, Redis :16379), in
-- two terminals:
--   dflc run examples/personalization/profiles.sql                  (keeps running)
--   dflc run examples/personalization/produce_clicks.sql -- --set gen.number-of-rows=180000
-- then `redis-cli -p 16379 HGETALL profile:42`.
-- Every option can be changed when the pipeline starts, e.g.
--   dflc run examples/personalization/profiles.sql -- \
--     --set clicks.properties.bootstrap.servers=kafka:9092 --set profiles.url=redis://cache:6379

SET 'pipeline.name' = 'personalization-profiles';

-- A checkpoint every minute (the open windows, the topic's position; the sinks flushed):
-- a restart resumes from the latest one. Keep them on durable storage in production:
--   --set state.checkpoints.dir=/var/lib/dflc/personalization-profiles
SET 'state.checkpoints.dir' = 'file:///tmp/dflc/personalization-profiles';
SET 'execution.checkpointing.interval' = '1 min';

CREATE TABLE clicks (
  user_id    BIGINT NOT NULL,           -- missing: dead-lettered
  item_id    BIGINT,
  category   STRING,
  event_type STRING,                    -- 'click', 'cart' or 'purchase'
  price      DECIMAL(10, 2),            -- the item's price
  ts         TIMESTAMP(3) NOT NULL,     -- event time, as the client saw it; missing: dead-lettered
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (
  'connector' = 'kafka',
  'topic' = 'personalization.clicks',
  'properties.bootstrap.servers' = '127.0.0.1:19092',
  'properties.group.id' = 'personalization-profiles',
  'scan.startup.mode' = 'group-offsets',
  'properties.auto.offset.reset' = 'earliest',
  'format' = 'json',
  'scan.errors' = 'dead-letter',
  'scan.dead-letter.topic' = 'personalization.clicks-dlq',
  'scan.watermark.idle-timeout' = '10 s'
);

-- Validation of what the schema cannot say: a known event type, a price that is not
-- negative, a category that is not blank (normalised to lower case). `problem` is NULL for
-- a valid click.
CREATE VIEW checked_clicks AS
SELECT user_id, item_id, LOWER(TRIM(category)) AS category, event_type, price, ts,
  CASE
    WHEN event_type IS NULL OR event_type NOT IN ('click', 'cart', 'purchase') THEN 'unknown event type'
    WHEN price IS NULL OR price < 0 THEN 'missing or negative price'
    WHEN category IS NULL OR CHAR_LENGTH(TRIM(category)) = 0 THEN 'blank category'
  END AS problem
FROM clicks;

CREATE VIEW valid_clicks AS
SELECT user_id, item_id, category, event_type, price, ts FROM checked_clicks WHERE problem IS NULL;

-- The clicks that fail the validation, with the reason, for whoever sends them.
CREATE TABLE rejected_clicks (
  user_id    BIGINT NOT NULL,
  item_id    BIGINT,
  category   STRING,
  event_type STRING,
  price      DECIMAL(10, 2),
  ts         TIMESTAMP(3),
  problem    STRING
) WITH (
  'connector' = 'kafka',
  'topic' = 'personalization.clicks-rejected',
  'properties.bootstrap.servers' = '127.0.0.1:19092',
  'key.format' = 'json',
  'key.fields' = 'user_id',
  'value.format' = 'json'
);

-- Tumbling: each user's activity per category and minute.
CREATE TABLE category_minute (
  user_id      BIGINT NOT NULL,
  category     STRING,
  window_start TIMESTAMP(3),
  window_end   TIMESTAMP(3),
  clicks       BIGINT,
  purchases    BIGINT,
  spend        DECIMAL(38, 2)
) WITH (
  'connector' = 'kafka',
  'topic' = 'personalization.category-minute',
  'properties.bootstrap.servers' = '127.0.0.1:19092',
  'key.format' = 'json',
  'key.fields' = 'user_id',
  'value.format' = 'json'
);

-- Sliding: each user's activity per category over the last five minutes, every minute.
CREATE VIEW category_5min AS
SELECT user_id, category, window_start, window_end,
  COUNT(*) AS clicks,
  COALESCE(SUM(price) FILTER (WHERE event_type = 'purchase'), 0) AS spend
FROM TABLE(HOP(TABLE valid_clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE, INTERVAL '5' MINUTE))
GROUP BY user_id, category, window_start, window_end;

-- Each user's three categories with the most clicks (then the most spend, then by name)
-- in every five-minute window: a window Top-N, final when the window closes.
CREATE VIEW top_categories AS
SELECT user_id, category, clicks, spend, window_start, window_end, rn
FROM (
  SELECT *, ROW_NUMBER() OVER (
    PARTITION BY window_start, window_end, user_id
    ORDER BY clicks DESC, spend DESC, category ASC) AS rn
  FROM category_5min
)
WHERE rn <= 3;

-- The profile: one row per user and window, the top-3 side by side.
CREATE VIEW user_profiles AS
SELECT user_id,
  MAX(CASE WHEN rn = 1 THEN category END) AS top1,
  MAX(CASE WHEN rn = 1 THEN clicks END)   AS top1_clicks,
  MAX(CASE WHEN rn = 2 THEN category END) AS top2,
  MAX(CASE WHEN rn = 2 THEN clicks END)   AS top2_clicks,
  MAX(CASE WHEN rn = 3 THEN category END) AS top3,
  MAX(CASE WHEN rn = 3 THEN clicks END)   AS top3_clicks,
  SUM(spend)                              AS top_spend,
  window_end
FROM top_categories
GROUP BY user_id, window_start, window_end;

-- Serving copy: a hash per user, replaced by every newer window; kept a week after the
-- user's last window.
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
  'data-type' = 'hash',
  'ttl' = '7 d'
);

-- Durable copy: the same rows in a compacted topic keyed by user (a consumer reading it
-- from the start rebuilds the table; Redis can be refilled from it).
CREATE TABLE profiles_log (
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
  'connector' = 'upsert-kafka',
  'topic' = 'personalization.profiles',
  'properties.bootstrap.servers' = '127.0.0.1:19092',
  'key.format' = 'json',
  'value.format' = 'json'
);

EXECUTE STATEMENT SET
BEGIN
  INSERT INTO rejected_clicks SELECT * FROM checked_clicks WHERE problem IS NOT NULL;

  INSERT INTO category_minute
  SELECT user_id, category, window_start, window_end,
    COUNT(*),
    COUNT(*) FILTER (WHERE event_type = 'purchase'),
    COALESCE(SUM(price) FILTER (WHERE event_type = 'purchase'), 0)
  FROM TABLE(TUMBLE(TABLE valid_clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
  GROUP BY user_id, category, window_start, window_end;

  INSERT INTO profiles SELECT * FROM user_profiles;

  INSERT INTO profiles_log SELECT * FROM user_profiles;
END;
