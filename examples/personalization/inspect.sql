-- Prints what the personalization pipeline wrote to Kafka, then exits: the compacted
-- topic personalization.profiles read back as a table (each user's latest profile: +I for
-- a new user, -U/+U when a newer window replaced it), and the enriched clicks of enrich.sql.
-- Both topics must exist: run it after profiles.sql and enrich.sql.
--   dflc run examples/personalization/inspect.sql
-- (`--set enriched_clicks.scan.bounded.mode=unbounded` to follow the clicks as they come.)

SET 'pipeline.name' = 'personalization-inspect';

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
  'value.format' = 'json',
  'scan.bounded.mode' = 'latest-offset'
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
  affinity       INT,
  profile_as_of  TIMESTAMP(3)
) WITH (
  'connector' = 'kafka',
  'topic' = 'personalization.enriched-clicks',
  'properties.bootstrap.servers' = '127.0.0.1:19092',
  'scan.startup.mode' = 'earliest-offset',
  'scan.bounded.mode' = 'latest-offset',
  'value.format' = 'json'
);

CREATE TABLE profile_changes (
  user_id BIGINT, top1 STRING, top2 STRING, top3 STRING, window_end TIMESTAMP(3)
) WITH ('connector' = 'print', 'print-identifier' = 'profile');

CREATE TABLE enriched_rows (
  user_id BIGINT, category STRING, event_type STRING, affinity INT, top1 STRING, top2 STRING, top3 STRING
) WITH ('connector' = 'print', 'print-identifier' = 'enriched');

INSERT INTO profile_changes SELECT user_id, top1, top2, top3, window_end FROM profiles_log;

INSERT INTO enriched_rows
SELECT user_id, category, event_type, affinity, top1, top2, top3 FROM enriched_clicks;
