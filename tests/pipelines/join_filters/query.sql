-- Filters after a join that read one side's columns only run before the join, on that
-- side (explain shows them there), and give the same rows as after it: impressions joined
-- with the clicks on them in the 30 s after, of user u1 and clicked after 00:15 (both
-- conditions move onto their sides). The LEFT join keeps the impressions without a click
-- (`c.ts IS NULL`): that condition reads the side padded with NULLs and stays after the
-- join (on the clicks it would drop every click, and every impression would look
-- unclicked); `i.user_id <> 'u9'` moves onto the impressions.
CREATE TABLE events (
  kind    STRING,
  ad_id   BIGINT,
  user_id STRING,
  ts      TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'filesystem', 'path' = 'input/events.json', 'format' = 'json');

CREATE VIEW impressions AS SELECT ad_id, user_id, ts FROM events WHERE kind = 'imp';
CREATE VIEW clicks AS SELECT ad_id, user_id, ts FROM events WHERE kind = 'click';

CREATE TABLE late_clicks (ad_id BIGINT, user_id STRING, shown TIMESTAMP(3), clicked TIMESTAMP(3))
WITH ('connector' = 'filesystem', 'path' = 'out/late_clicks.json', 'format' = 'json');

CREATE TABLE unclicked (ad_id BIGINT, user_id STRING, shown TIMESTAMP(3))
WITH ('connector' = 'filesystem', 'path' = 'out/unclicked.json', 'format' = 'json');

INSERT INTO late_clicks
SELECT i.ad_id, i.user_id, i.ts, c.ts
FROM impressions AS i
JOIN clicks AS c
  ON i.ad_id = c.ad_id AND i.user_id = c.user_id AND c.ts BETWEEN i.ts AND i.ts + INTERVAL '30' SECOND
WHERE c.ts > TIMESTAMP '2024-01-01 00:00:15' AND i.user_id = 'u1';

INSERT INTO unclicked
SELECT i.ad_id, i.user_id, i.ts
FROM impressions AS i
LEFT JOIN clicks AS c
  ON i.ad_id = c.ad_id AND i.user_id = c.user_id AND c.ts BETWEEN i.ts AND i.ts + INTERVAL '30' SECOND
WHERE c.ts IS NULL AND i.user_id <> 'u9';
