-- Per user and sliding 10-second window (every 5 s): the average price weighted by
-- quantity, by the crate's Rust aggregate function, and the number of orders.
CREATE TABLE orders (
  user_id BIGINT,
  price   DOUBLE,
  qty     INT,
  ts      TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH ('connector' = 'filesystem', 'path' = 'orders.json', 'format' = 'json');

CREATE TABLE stats (
  user_id      BIGINT,
  window_start TIMESTAMP(3),
  avg_price    DOUBLE,
  orders       BIGINT
) WITH ('connector' = 'filesystem', 'path' = 'out/stats.json', 'format' = 'json');

CREATE FUNCTION weighted_avg AS 'crate::udfs::WeightedAvg';

INSERT INTO stats
SELECT user_id, window_start, weighted_avg(price, qty), COUNT(*)
FROM TABLE(HOP(TABLE orders, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '10' SECOND))
GROUP BY user_id, window_start, window_end;
