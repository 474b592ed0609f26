-- OVER aggregates by event time: every payment with the aggregates of its frame — the
-- payments before it in its account, in time order — once the watermark (1 s behind)
-- has passed it, so rows out of order are sorted first (a1's 7 at 00:02.5 comes before
-- its 20 at 00:03). ROWS 1 PRECEDING: it and the one before (equal times in arrival
-- order); RANGE 10 s: every payment of the account in the 10 s up to it, including those
-- at the same time (a1's two payments at 00:20 see each other); ROWS UNBOUNDED: all so
-- far. The payment at 00:08 arrives behind the watermark (00:24): late, dropped.
CREATE TABLE payments (
  account STRING,
  amount  BIGINT,
  ts      TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH ('connector' = 'filesystem', 'path' = 'input/payments.json', 'format' = 'json');

CREATE TABLE last_two (account STRING, amount BIGINT, ts TIMESTAMP(3), total BIGINT)
WITH ('connector' = 'filesystem', 'path' = 'out/last_two.json', 'format' = 'json');

CREATE TABLE in_10s (account STRING, amount BIGINT, total BIGINT, n BIGINT, biggest BIGINT)
WITH ('connector' = 'filesystem', 'path' = 'out/in_10s.json', 'format' = 'json');

CREATE TABLE so_far (account STRING, amount BIGINT, total BIGINT)
WITH ('connector' = 'filesystem', 'path' = 'out/so_far.json', 'format' = 'json');

INSERT INTO last_two
SELECT account, amount, ts,
  SUM(amount) OVER (PARTITION BY account ORDER BY ts ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
FROM payments;

INSERT INTO in_10s
SELECT account, amount,
  SUM(amount) OVER (PARTITION BY account ORDER BY ts RANGE BETWEEN INTERVAL '10' SECOND PRECEDING AND CURRENT ROW),
  COUNT(*) OVER (PARTITION BY account ORDER BY ts RANGE BETWEEN INTERVAL '10' SECOND PRECEDING AND CURRENT ROW),
  MAX(amount) OVER (PARTITION BY account ORDER BY ts RANGE BETWEEN INTERVAL '10' SECOND PRECEDING AND CURRENT ROW)
FROM payments;

INSERT INTO so_far
SELECT account, amount,
  SUM(amount) OVER (PARTITION BY account ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
FROM payments;
