-- AVG of DECIMAL in a window: DECIMAL(38, 6), rounded half away from zero, as Flink.
CREATE TABLE orders (
  shop   STRING,
  price  DECIMAL(10, 2),
  ts     TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '0' SECOND
) WITH ('connector' = 'filesystem', 'path' = 'input/orders.json', 'format' = 'json');

CREATE TABLE avg_price (
  shop STRING, window_start TIMESTAMP(3), avg_price DECIMAL(38, 6), cheapest DECIMAL(10, 2)
) WITH ('connector' = 'filesystem', 'path' = 'out/avg.json', 'format' = 'json');

INSERT INTO avg_price
SELECT shop, window_start, AVG(price), MIN(price)
FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY shop, window_start, window_end;
