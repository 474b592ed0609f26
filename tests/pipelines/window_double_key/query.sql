-- Grouping a window by a DOUBLE column (a price tier): equal doubles share a group.
CREATE TABLE views (
  tier  DOUBLE,
  ts    TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '0' SECOND
) WITH ('connector' = 'filesystem', 'path' = 'input/views.json', 'format' = 'json');

CREATE TABLE per_tier (tier DOUBLE, views BIGINT) WITH ('connector' = 'filesystem', 'path' = 'out/', 'format' = 'json');

INSERT INTO per_tier
SELECT tier, COUNT(*)
FROM TABLE(TUMBLE(TABLE views, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY tier, window_start, window_end;
