-- Event-time windows over a file of clicks, 2 s of allowed disorder. The click at
-- 00:00:09 arrives after the watermark (00:00:10) has closed [00:00:00, 00:00:10): it is
-- late for TUMBLE (dropped and counted), but still counts in the HOP window
-- [00:00:05, 00:00:15), which is open. Late rows go, unchanged and with their reason,
-- to the late-data table.
SET 'pipeline.late-data.sink' = 'late_clicks';

CREATE TABLE clicks (
  user_id STRING,
  amount  INT,
  ts      TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '2' SECOND
) WITH ('connector' = 'filesystem', 'path' = 'input/clicks.json', 'format' = 'json');

CREATE TABLE tumble_out (
  user_id STRING, window_start TIMESTAMP(3), window_end TIMESTAMP(3), clicks BIGINT, total INT
) WITH ('connector' = 'filesystem', 'path' = 'out/tumble.json', 'format' = 'json');

CREATE TABLE hop_out (
  user_id STRING, window_start TIMESTAMP(3), window_end TIMESTAMP(3), clicks BIGINT, total INT, biggest INT
) WITH ('connector' = 'filesystem', 'path' = 'out/hop.json', 'format' = 'json');

CREATE TABLE legacy_out (
  user_id STRING, w_start TIMESTAMP(3), w_end TIMESTAMP(3), total INT
) WITH ('connector' = 'filesystem', 'path' = 'out/legacy.json', 'format' = 'json');

CREATE TABLE late_clicks (
  user_id STRING, amount INT, ts TIMESTAMP(3), late_reason STRING
) WITH ('connector' = 'filesystem', 'path' = 'out/late.json', 'format' = 'json');

EXECUTE STATEMENT SET BEGIN
INSERT INTO tumble_out
SELECT user_id, window_start, window_end, COUNT(*), SUM(amount)
FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY user_id, window_start, window_end;

INSERT INTO hop_out
SELECT user_id, window_start, window_end, COUNT(amount), SUM(amount), MAX(amount)
FROM TABLE(HOP(TABLE clicks, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '10' SECOND))
GROUP BY user_id, window_start, window_end;

INSERT INTO legacy_out
SELECT user_id, TUMBLE_START(ts, INTERVAL '10' SECOND), TUMBLE_END(ts, INTERVAL '10' SECOND), SUM(amount)
FROM clicks
GROUP BY user_id, TUMBLE(ts, INTERVAL '10' SECOND)
HAVING SUM(amount) > 2;
END;
