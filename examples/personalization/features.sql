-- Real-time personalization features: per-user, per-category click counts and spend
-- over one-minute tumbling windows and five-minute sliding windows, and each user's
-- top-3 categories of every sliding window, from click events. Runs on the embedded
-- default (the datagen generator) and prints; profiles.sql is the same pipeline reading
-- Kafka and writing Redis and Kafka (docs/personalization.md).
--   dflc run examples/personalization/features.sql -- --set clicks.number-of-rows=5000

SET 'pipeline.name' = 'personalization-features';

CREATE TABLE clicks (
  user_id     BIGINT NOT NULL,
  item_id     BIGINT,
  category    STRING,
  price       DECIMAL(10, 2),
  ts          TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (
  'connector' = 'datagen',
  'rows-per-second' = '10000',
  'fields.user_id.min' = '1',
  'fields.user_id.max' = '1000',
  'fields.category.length' = '1',
  'fields.price.min' = '1',
  'fields.price.max' = '300'
);

CREATE TABLE user_category_minute (
  user_id      BIGINT,
  category     STRING,
  clicks       BIGINT,
  spend        DECIMAL(38, 2),
  window_start TIMESTAMP(3),
  window_end   TIMESTAMP(3)
) WITH ('connector' = 'print', 'print-identifier' = 'minute');

CREATE TABLE top_categories (
  user_id      BIGINT,
  top1         STRING,
  top2         STRING,
  top3         STRING,
  window_end   TIMESTAMP(3)
) WITH ('connector' = 'print', 'print-identifier' = 'top3');

CREATE TABLE user_activity_sliding (
  user_id      BIGINT,
  clicks       BIGINT,
  categories   BIGINT,
  window_end   TIMESTAMP(3)
) WITH ('connector' = 'print', 'print-identifier' = 'sliding');

EXECUTE STATEMENT SET
BEGIN
  INSERT INTO user_category_minute
  SELECT user_id, category, COUNT(*), SUM(price), window_start, window_end
  FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
  GROUP BY user_id, category, window_start, window_end;

  INSERT INTO user_activity_sliding
  SELECT user_id, COUNT(*), COUNT(DISTINCT category), window_end
  FROM TABLE(HOP(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE, INTERVAL '5' MINUTE))
  GROUP BY user_id, window_start, window_end;

  -- Window Top-N over the sliding counts per category, one row per user and window.
  INSERT INTO top_categories
  SELECT user_id,
    MAX(CASE WHEN rn = 1 THEN category END),
    MAX(CASE WHEN rn = 2 THEN category END),
    MAX(CASE WHEN rn = 3 THEN category END),
    window_end
  FROM (
    SELECT *, ROW_NUMBER() OVER (
      PARTITION BY window_start, window_end, user_id ORDER BY clicks DESC, category ASC) AS rn
    FROM (
      SELECT user_id, category, window_start, window_end, COUNT(*) AS clicks
      FROM TABLE(HOP(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE, INTERVAL '5' MINUTE))
      GROUP BY user_id, category, window_start, window_end
    )
  )
  WHERE rn <= 3
  GROUP BY user_id, window_start, window_end;
END;
