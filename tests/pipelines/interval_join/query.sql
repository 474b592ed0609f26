-- Interval joins of two views over one source: each impression with the clicks on it
-- (same ad and user) in the 30 s after it, `c.ts BETWEEN i.ts AND i.ts + 30 s`. Rows are
-- kept only until the watermark (5 s behind the latest time) passes their last possible
-- partner. The LEFT join writes an impression without a click once that happens, with
-- NULLs; both only append. The click at 00:38 arrives behind the watermark (00:45): late,
-- dropped. A NULL key matches nothing (the LEFT join writes its impression with NULLs).
CREATE TABLE events (
  kind    STRING,
  ad_id   BIGINT,
  user_id STRING,
  ts      TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'filesystem', 'path' = 'input/events.json', 'format' = 'json');

CREATE VIEW impressions AS SELECT ad_id, user_id, ts FROM events WHERE kind = 'imp';
CREATE VIEW clicks AS SELECT ad_id, user_id, ts FROM events WHERE kind = 'click';

CREATE TABLE clicked (ad_id BIGINT, user_id STRING, shown TIMESTAMP(3), clicked TIMESTAMP(3))
WITH ('connector' = 'filesystem', 'path' = 'out/clicked.json', 'format' = 'json');

CREATE TABLE shown (ad_id BIGINT, user_id STRING, shown TIMESTAMP(3), clicked TIMESTAMP(3))
WITH ('connector' = 'filesystem', 'path' = 'out/shown.json', 'format' = 'json');

INSERT INTO clicked
SELECT i.ad_id, i.user_id, i.ts, c.ts
FROM impressions AS i
JOIN clicks AS c
  ON i.ad_id = c.ad_id AND i.user_id = c.user_id AND c.ts BETWEEN i.ts AND i.ts + INTERVAL '30' SECOND;

INSERT INTO shown
SELECT i.ad_id, i.user_id, i.ts, c.ts
FROM impressions AS i
LEFT JOIN clicks AS c
  ON i.ad_id = c.ad_id AND i.user_id = c.user_id AND c.ts BETWEEN i.ts AND i.ts + INTERVAL '30' SECOND;
