-- MATCH_RECOGNIZE (row pattern matching) is recognised but not supported.
CREATE TABLE ticks (
  symbol STRING, price INT, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH ('connector' = 'datagen');
CREATE TABLE out (symbol STRING, start_ts TIMESTAMP(3)) WITH ('connector' = 'print');
INSERT INTO out
SELECT symbol, start_ts
FROM ticks MATCH_RECOGNIZE (
  PARTITION BY symbol ORDER BY ts
  MEASURES FIRST(A.ts) AS start_ts
  PATTERN (A B+)
  DEFINE B AS B.price > A.price
) AS m;
