-- The personalization job's per-event stage: click events (from the built-in generator,
-- so no broker is needed) become per-user feature rows — a normalised category, a
-- price band, the hour of day and a spend weight — printed to stdout.
-- The windowed aggregates of features.sql build on these events.

SET 'pipeline.name' = 'personalization-click-features';

CREATE TABLE clicks (
  user_id   BIGINT NOT NULL,
  item_id   BIGINT,
  category  STRING,
  price     DECIMAL(10, 2),
  ts        TIMESTAMP(3)
) WITH (
  'connector' = 'datagen',
  'number-of-rows' = '20',
  'rows-per-second' = '100',
  'seed' = '42',
  'fields.user_id.min' = '1',
  'fields.user_id.max' = '5',
  'fields.item_id.min' = '1',
  'fields.item_id.max' = '1000',
  'fields.category.length' = '3',
  'fields.price.min' = '1',
  'fields.price.max' = '300'
);

CREATE TABLE click_features (
  user_id      BIGINT,
  item_id      BIGINT,
  category     STRING,
  price_band   STRING,
  hour_of_day  BIGINT,
  weight       DOUBLE
) WITH ('connector' = 'print', 'print-identifier' = 'features');

INSERT INTO click_features
SELECT
  user_id,
  item_id,
  UPPER(category),
  CASE WHEN price >= 100 THEN 'high' WHEN price >= 10 THEN 'mid' ELSE 'low' END,
  HOUR(ts),
  CAST(price AS DOUBLE) / 100
FROM clicks
WHERE price IS NOT NULL;
