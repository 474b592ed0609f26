-- WINDOW w AS (…) named windows are recognised but not supported.
CREATE TABLE clicks (
  user_id BIGINT, price INT, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH ('connector' = 'datagen');
CREATE TABLE out (user_id BIGINT, total INT) WITH ('connector' = 'print');
INSERT INTO out
SELECT user_id, SUM(price) OVER w
FROM clicks
WINDOW w AS (PARTITION BY user_id ORDER BY ts ROWS BETWEEN 5 PRECEDING AND CURRENT ROW);
