-- Clicks from the Kafka topic `clicks` → clicks per user and category per minute → the
-- topic `user_features`, keyed by user, and the latest minute of each user and category
-- → the compacted topic `user_latest` (upsert-kafka: one row per key, read back as a
-- table by latest_profiles.sql). Records that cannot be read (bad JSON, a missing
-- user_id) go to the topic `clicks_dlq` with the reason, topic, partition and offset; the
-- pipeline keeps running. Start the broker with `bash scripts/services.sh up`, produce
-- clicks with produce_clicks.sql, then:
--   dflc run examples/kafka/click_features.sql
-- (`--set clicks.properties.bootstrap.servers=HOST:PORT` for another broker.)
CREATE TABLE clicks (
  user_id  BIGINT NOT NULL,
  category STRING,
  ts       TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (
  'connector' = 'kafka',
  'topic' = 'clicks',
  'properties.bootstrap.servers' = '127.0.0.1:19092',
  'properties.group.id' = 'click-features',
  'scan.startup.mode' = 'group-offsets',
  'properties.auto.offset.reset' = 'earliest',
  'format' = 'json',
  'scan.errors' = 'dead-letter',
  'scan.dead-letter.topic' = 'clicks_dlq',
  'scan.watermark.idle-timeout' = '10 s'
);

CREATE TABLE user_features (
  user_id      BIGINT NOT NULL,
  category     STRING,
  window_start TIMESTAMP(3),
  window_end   TIMESTAMP(3),
  clicks       BIGINT
) WITH (
  'connector' = 'kafka',
  'topic' = 'user_features',
  'properties.bootstrap.servers' = '127.0.0.1:19092',
  'format' = 'json',
  'key.format' = 'json',
  'key.fields' = 'user_id'
);

INSERT INTO user_features
SELECT user_id, category, window_start, window_end, COUNT(*)
FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY user_id, category, window_start, window_end;

CREATE TABLE user_latest (
  user_id      BIGINT NOT NULL,
  category     STRING NOT NULL,
  window_end   TIMESTAMP(3),
  clicks       BIGINT,
  PRIMARY KEY (user_id, category) NOT ENFORCED
) WITH (
  'connector' = 'upsert-kafka',
  'topic' = 'user_latest',
  'properties.bootstrap.servers' = '127.0.0.1:19092',
  'key.format' = 'json',
  'value.format' = 'json'
);

INSERT INTO user_latest
SELECT user_id, COALESCE(category, 'unknown'), window_end, COUNT(*)
FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY user_id, category, window_start, window_end;
