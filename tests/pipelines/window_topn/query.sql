-- Window Top-N: the two users with the most clicks in each 10 s tumbling window. The
-- ranking is partitioned by the window, whose aggregated rows arrive all at once when it
-- fires: the final ranking is written then, and only appended (so a file can take it).
CREATE TABLE clicks (
  user_id STRING,
  ts      TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH ('connector' = 'filesystem', 'path' = 'input/clicks.json', 'format' = 'json');

CREATE TABLE top_users (window_start TIMESTAMP(3), user_id STRING, clicks BIGINT, rn BIGINT)
WITH ('connector' = 'filesystem', 'path' = 'out/top_users.json', 'format' = 'json');

INSERT INTO top_users
SELECT window_start, user_id, clicks, rn
FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY clicks DESC) AS rn
  FROM (
    SELECT window_start, window_end, user_id, COUNT(*) AS clicks
    FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND))
    GROUP BY window_start, window_end, user_id
  )
)
WHERE rn <= 2;
