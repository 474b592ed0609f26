-- Per-event features from click events: normalised category, price band, hour of day;
-- bots and malformed prices filtered out. Two outputs from one source (a statement set).
CREATE TABLE clicks (
  user_id   BIGINT,
  item_id   BIGINT,
  category  STRING,
  price     DECIMAL(10, 2),
  agent     STRING,
  ts        TIMESTAMP(3)
) WITH (
  'connector' = 'filesystem',
  'path' = 'input/clicks.json',
  'format' = 'json'
);

CREATE TABLE features (
  user_id   BIGINT,
  category  STRING,
  band      STRING,
  hour_of_day BIGINT,
  discounted DECIMAL(12, 2)
) WITH (
  'connector' = 'filesystem',
  'path' = 'out/features/',
  'format' = 'json'
);

CREATE TABLE expensive (
  user_id BIGINT,
  item_id BIGINT,
  price   DECIMAL(10, 2)
) WITH (
  'connector' = 'filesystem',
  'path' = 'out/expensive.csv',
  'format' = 'csv'
);

EXECUTE STATEMENT SET BEGIN
INSERT INTO features
SELECT
  user_id,
  LOWER(TRIM(category)),
  CASE WHEN price >= 100 THEN 'high' WHEN price >= 10 THEN 'mid' ELSE 'low' END,
  HOUR(ts),
  price * 0.9
FROM clicks
WHERE agent NOT LIKE '%bot%' AND price IS NOT NULL;

INSERT INTO expensive
SELECT user_id, item_id, price FROM clicks WHERE price > 100 AND user_id IN (1, 2, 3);
END;
