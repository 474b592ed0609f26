-- Real-time personalization features: per-user, per-category click counts and spend
-- over one-minute tumbling windows and five-minute sliding windows, from click events.
-- Runs on the embedded default (the datagen generator); swap the source for Kafka
-- in production.

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
  'fields.category.length' = '1'
);

CREATE TABLE user_category_minute (
  user_id      BIGINT,
  category     STRING,
  clicks       BIGINT,
  spend        DECIMAL(38, 2),
  window_start TIMESTAMP(3),
  window_end   TIMESTAMP(3)
) WITH ('connector' = 'print', 'print-identifier' = 'minute');

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
END;
