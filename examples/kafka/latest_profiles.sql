-- The compacted topic `user_latest` (written by click_features.sql) read back as a
-- table: every message is the latest row of its (user, category) key, so reading it gives
-- a changelog — a new key is an insert (+I), a key seen before an update (-U old row, +U
-- new row), a tombstone a delete (-D). Busy categories (5+ clicks in their latest minute)
-- go to the compacted topic `busy_categories`; a category whose count drops below 5 is
-- removed from it (a tombstone). The changes are printed as they happen.
--   dflc run examples/kafka/latest_profiles.sql
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

CREATE TABLE busy_categories (
  user_id  BIGINT NOT NULL,
  category STRING NOT NULL,
  clicks   BIGINT,
  PRIMARY KEY (user_id, category) NOT ENFORCED
) WITH (
  'connector' = 'upsert-kafka',
  'topic' = 'busy_categories',
  'properties.bootstrap.servers' = '127.0.0.1:19092',
  'key.format' = 'json',
  'value.format' = 'json'
);

CREATE TABLE latest_changes (user_id BIGINT, category STRING, window_end TIMESTAMP(3), clicks BIGINT)
WITH ('connector' = 'print', 'print-identifier' = 'latest');

INSERT INTO busy_categories SELECT user_id, category, clicks FROM user_latest WHERE clicks >= 5;
INSERT INTO latest_changes SELECT user_id, category, window_end, clicks FROM user_latest;
