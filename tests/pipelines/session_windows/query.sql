-- Session windows (gap 5 s) per user, 1 s of allowed disorder: as a window TVF with
-- PARTITION BY and as a legacy group window. The last row (u2 at 00:00:06) comes after the
-- watermark closed u2's session: it is late, dropped and counted.
CREATE TABLE clicks (
  user_id STRING,
  amount  INT,
  ts      TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH ('connector' = 'filesystem', 'path' = 'input/clicks.json', 'format' = 'json');

CREATE TABLE sessions_out (
  user_id STRING, window_start TIMESTAMP(3), window_end TIMESTAMP(3), clicks BIGINT, total INT
) WITH ('connector' = 'filesystem', 'path' = 'out/sessions/', 'format' = 'json');

CREATE TABLE legacy_out (
  user_id STRING, s_start TIMESTAMP(3), s_end TIMESTAMP(3), total INT
) WITH ('connector' = 'filesystem', 'path' = 'out/legacy.json', 'format' = 'json');

EXECUTE STATEMENT SET BEGIN
INSERT INTO sessions_out
SELECT user_id, window_start, window_end, COUNT(*), SUM(amount)
FROM TABLE(SESSION(TABLE clicks PARTITION BY user_id, DESCRIPTOR(ts), INTERVAL '5' SECOND))
GROUP BY user_id, window_start, window_end;

INSERT INTO legacy_out
SELECT user_id, SESSION_START(ts, INTERVAL '5' SECOND), SESSION_END(ts, INTERVAL '5' SECOND), SUM(amount)
FROM clicks
GROUP BY user_id, SESSION(ts, INTERVAL '5' SECOND);
END;
