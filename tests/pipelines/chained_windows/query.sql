-- A window aggregate feeding another: 10-second totals per user (a view), rolled up into
-- 30-second windows on their window_time. The click at 00:00:09 is late for the 10-second
-- windows (the watermark, 2 s behind, has passed 00:00:10 when it arrives).
CREATE TABLE clicks (
  user_id STRING,
  amount  INT,
  ts      TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '2' SECOND
) WITH ('connector' = 'filesystem', 'path' = 'input/clicks.json', 'format' = 'json');

CREATE VIEW per_10s AS
SELECT user_id, window_start AS s, window_end AS e, window_time AS wt, SUM(amount) AS total
FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY user_id, window_start, window_end, window_time;

CREATE TABLE rollup (
  user_id STRING, window_start TIMESTAMP(3), window_end TIMESTAMP(3), total INT, windows BIGINT
) WITH ('connector' = 'filesystem', 'path' = 'out/rollup.json', 'format' = 'json');

INSERT INTO rollup
SELECT user_id, window_start, window_end, SUM(total), COUNT(*)
FROM TABLE(TUMBLE(TABLE per_10s, DESCRIPTOR(wt), INTERVAL '30' SECOND))
GROUP BY user_id, window_start, window_end;
