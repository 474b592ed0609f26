-- Writes generated clicks to the Kafka topic `clicks` (keyed by user), for
-- click_features.sql to read. Start the broker first: `bash scripts/services.sh up`.
--   dflc run examples/kafka/produce_clicks.sql -- --set gen.number-of-rows=100000
CREATE TABLE gen (
  user_id  BIGINT NOT NULL,
  category STRING,
  ts       AS LOCALTIMESTAMP
) WITH (
  'connector' = 'datagen',
  'rows-per-second' = '1000',
  'fields.user_id.min' = '1',
  'fields.user_id.max' = '1000',
  'fields.category.length' = '1'
);

CREATE TABLE clicks (
  user_id  BIGINT NOT NULL,
  category STRING,
  ts       TIMESTAMP(3)
) WITH (
  'connector' = 'kafka',
  'topic' = 'clicks',
  'properties.bootstrap.servers' = '127.0.0.1:19092',
  'format' = 'json',
  'key.format' = 'json',
  'key.fields' = 'user_id'
);

INSERT INTO clicks SELECT user_id, category, ts FROM gen;
