-- LEAD needs the rows after the current one, which have not arrived yet.
CREATE TABLE clicks (
  user_id BIGINT, url STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH ('connector' = 'datagen');
CREATE TABLE out (user_id BIGINT, next_url STRING) WITH ('connector' = 'print');
INSERT INTO out
SELECT user_id, LEAD(url) OVER (PARTITION BY user_id ORDER BY ts) FROM clicks;
