-- A regular inner join of two views over one source: ad impressions joined with the clicks
-- on them (same ad_id and user), whichever comes first; the ON clause also requires the
-- click to be at most 60 s after the impression (a click before it counts too: no lower
-- bound). Rows with a NULL ad_id join nothing.
-- Every pair is written once, as soon as its second row arrives.
CREATE TABLE events (
  kind    STRING,
  ad_id   BIGINT,
  user_id STRING,
  ts      TIMESTAMP(3)
) WITH ('connector' = 'filesystem', 'path' = 'input/events.json', 'format' = 'json');

CREATE VIEW impressions AS SELECT ad_id, user_id, ts FROM events WHERE kind = 'imp';
CREATE VIEW clicks AS SELECT ad_id, user_id, ts FROM events WHERE kind = 'click';

CREATE TABLE clicked (ad_id BIGINT, user_id STRING, shown TIMESTAMP(3), clicked TIMESTAMP(3))
WITH ('connector' = 'filesystem', 'path' = 'out/clicked.json', 'format' = 'json');

INSERT INTO clicked
SELECT i.ad_id, i.user_id, i.ts, c.ts
FROM impressions AS i
JOIN clicks AS c ON i.ad_id = c.ad_id AND i.user_id = c.user_id
WHERE c.ts <= i.ts + INTERVAL '60' SECOND;
