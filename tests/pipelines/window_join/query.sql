-- Window joins: per user and 10-second window, views joined with clicks. A LEFT join
-- whose ON clause also compares the counts (a pair failing it leaves the view row
-- unmatched), and a FULL join showing unmatched rows of both sides; NULL users equal
-- nothing. The view at 00:00:09 is late (the watermark, 2 s behind 00:00:13, has passed
-- the first window) and goes to the late-data table once: both INSERTs share the views
-- window aggregation, computed once.
SET 'pipeline.late-data.sink' = 'late_events';

CREATE TABLE events (
  user_id STRING,
  kind    STRING,
  ts      TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '2' SECOND
) WITH ('connector' = 'filesystem', 'path' = 'input/events.json', 'format' = 'json');

CREATE VIEW views AS
SELECT user_id, window_start, window_end, COUNT(*) AS n
FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(ts), INTERVAL '10' SECOND))
WHERE kind = 'view'
GROUP BY user_id, window_start, window_end;

CREATE VIEW clicks AS
SELECT user_id, window_start, window_end, COUNT(*) AS n
FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(ts), INTERVAL '10' SECOND))
WHERE kind = 'click'
GROUP BY user_id, window_start, window_end;

CREATE TABLE ctr (user_id STRING, window_start TIMESTAMP(3), views BIGINT, clicks BIGINT)
WITH ('connector' = 'filesystem', 'path' = 'out/ctr.json', 'format' = 'json');

CREATE TABLE both_sides (
  view_user STRING, click_user STRING, window_start TIMESTAMP(3), views BIGINT, clicks BIGINT
) WITH ('connector' = 'filesystem', 'path' = 'out/both.json', 'format' = 'json');

CREATE TABLE late_events (user_id STRING, kind STRING, ts TIMESTAMP(3), late_reason STRING)
WITH ('connector' = 'filesystem', 'path' = 'out/late.json', 'format' = 'json');

INSERT INTO ctr
SELECT v.user_id, v.window_start, v.n, c.n
FROM views v LEFT JOIN clicks c
  ON v.user_id = c.user_id AND v.window_start = c.window_start AND v.window_end = c.window_end
 AND c.n <= v.n;

INSERT INTO both_sides
SELECT v.user_id, c.user_id, COALESCE(v.window_start, c.window_start), v.n, c.n
FROM views v FULL JOIN clicks c
  ON v.window_start = c.window_start AND v.window_end = c.window_end AND v.user_id = c.user_id;
