-- Rows too late for their windows go to the table named by their source's
-- 'scan.late-data.sink' option, unchanged and with the reason. The watermark trails the
-- greatest event time by 1 s: at 00:00:07 it passes the window [00:00:00, 00:00:05), so
-- the clicks at 00:00:04 and 00:00:02 that arrive after it are late.
CREATE TABLE clicks (
  user_id STRING,
  ts      TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH (
  'connector' = 'filesystem', 'path' = 'input/clicks.json', 'format' = 'json',
  'scan.late-data.sink' = 'late_clicks'
);

CREATE TABLE late_clicks (user_id STRING, ts TIMESTAMP(3), late_reason STRING)
WITH ('connector' = 'filesystem', 'path' = 'out/late.json', 'format' = 'json');

CREATE TABLE counts (user_id STRING, window_start TIMESTAMP(3), n BIGINT)
WITH ('connector' = 'filesystem', 'path' = 'out/counts.json', 'format' = 'json');

INSERT INTO counts
SELECT user_id, window_start, COUNT(*)
FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '5' SECOND))
GROUP BY user_id, window_start, window_end;
