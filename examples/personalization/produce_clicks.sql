-- Sample click events for profiles.sql and enrich.sql: generated clicks written to the
-- Kafka topic personalization.clicks (JSON, keyed by user), with a few invalid ones for
-- the validation to catch — about 1 in 1,000 without a user_id (dead-lettered), 1 in 20
-- of an unknown event type and 1 in 60 with a negative price (dropped by the WHERE).
-- Start the broker first: `bash scripts/services.sh up`.
--   dflc run examples/personalization/produce_clicks.sql -- --set gen.number-of-rows=60000

SET 'pipeline.name' = 'personalization-produce-clicks';

CREATE TABLE gen (
  user_id    BIGINT,
  item_id    BIGINT,
  category_n INT,
  kind       INT,
  price      DECIMAL(10, 2),
  ts         AS LOCALTIMESTAMP
) WITH (
  'connector' = 'datagen',
  'rows-per-second' = '1000',
  'fields.user_id.min' = '1',
  'fields.user_id.max' = '200',
  'fields.user_id.null-rate' = '0.001',
  'fields.item_id.min' = '1',
  'fields.item_id.max' = '10000',
  'fields.category_n.min' = '0',
  'fields.category_n.max' = '7',
  'fields.kind.min' = '0',
  'fields.kind.max' = '19',
  'fields.price.min' = '-5',
  'fields.price.max' = '300'
);

CREATE TABLE clicks (
  user_id    BIGINT,
  item_id    BIGINT,
  category   STRING,
  event_type STRING,
  price      DECIMAL(10, 2),
  ts         TIMESTAMP(3)
) WITH (
  'connector' = 'kafka',
  'topic' = 'personalization.clicks',
  'properties.bootstrap.servers' = '127.0.0.1:19092',
  'key.format' = 'json',
  'key.fields' = 'user_id',
  'value.format' = 'json'
);

INSERT INTO clicks
SELECT
  user_id,
  item_id,
  -- Lower categories are more popular: users' top-3 differ but overlap.
  CASE WHEN category_n < 2 THEN 'books' WHEN category_n < 4 THEN 'games'
       WHEN category_n = 4 THEN 'music' WHEN category_n = 5 THEN 'sports'
       WHEN category_n = 6 THEN 'travel' ELSE 'garden' END,
  CASE WHEN kind < 14 THEN 'click' WHEN kind < 17 THEN 'cart'
       WHEN kind < 19 THEN 'purchase' ELSE 'unknown' END,
  price,
  ts
FROM gen;
