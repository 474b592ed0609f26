-- A folder of two files is two splits, read one after the other; a file is a split from
-- when it is opened, so the second does not hold the watermark back while the first is
-- read (windows fire as a folder is read, as with Flink's file source), and the watermark
-- never goes back. part-1's row at 00:00:04 comes after one at 00:00:25 moved the watermark
-- (2 s of disorder) past [00:00:00, 00:00:10): late. part-2's rows at 00:00:03 and 00:00:12
-- are older than the watermark part-1 left (00:00:23): late; its row at 00:00:31 opens
-- [00:00:30, 00:00:40), and its row at 00:00:08 is late too.
SET 'pipeline.late-data.sink' = 'late_clicks';

CREATE TABLE clicks (
  user_id STRING,
  ts      TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '2' SECOND
) WITH ('connector' = 'filesystem', 'path' = 'input/clicks', 'format' = 'json');

CREATE TABLE counts (
  user_id STRING, window_start TIMESTAMP(3), window_end TIMESTAMP(3), clicks BIGINT
) WITH ('connector' = 'filesystem', 'path' = 'out/counts.json', 'format' = 'json');

CREATE TABLE late_clicks (
  user_id STRING, ts TIMESTAMP(3), late_reason STRING
) WITH ('connector' = 'filesystem', 'path' = 'out/late.json', 'format' = 'json');

INSERT INTO counts
SELECT user_id, window_start, window_end, COUNT(*)
FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY user_id, window_start, window_end;
