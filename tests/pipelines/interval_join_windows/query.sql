-- A window over an interval join's output: clicks within a minute of their impression,
-- counted per minute of the impression. A pair is emitted when its later row arrives,
-- and its impression may be up to a minute older: the window after the join runs a
-- minute behind the watermark (no delay here: the watermark is the latest time), so b's
-- pair — impression at 00:55, click at 01:20, after x at 01:05 moved the watermark past
-- the first minute — still counts in the first minute.
CREATE TABLE events (
  kind  STRING,
  ad_id STRING,
  ts    TIMESTAMP(3),
  WATERMARK FOR ts AS ts
) WITH ('connector' = 'filesystem', 'path' = 'input/events.json', 'format' = 'json');

CREATE VIEW impressions AS SELECT ad_id, ts FROM events WHERE kind = 'imp';
CREATE VIEW clicks AS SELECT ad_id, ts AS click_ts FROM events WHERE kind = 'click';

CREATE VIEW clicked AS
SELECT i.ad_id, i.ts
FROM impressions AS i
JOIN clicks AS c ON i.ad_id = c.ad_id AND c.click_ts BETWEEN i.ts AND i.ts + INTERVAL '1' MINUTE;

CREATE TABLE per_minute (window_start TIMESTAMP(3), clicked BIGINT)
WITH ('connector' = 'filesystem', 'path' = 'out/per_minute.json', 'format' = 'json');

INSERT INTO per_minute
SELECT window_start, COUNT(*)
FROM TABLE(TUMBLE(TABLE clicked, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end;
