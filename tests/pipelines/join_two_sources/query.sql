-- Joins of two source tables (two files), read by one task that merges their rows:
-- orders with their shipments within a day (an interval join: rows freed by the
-- watermark, the least of both tables'), the orders without one (a LEFT interval join,
-- written when the watermark passes the day), and every order's carriers whenever it
-- shipped (a regular join, both sides kept). Each file is in time order, so whichever way the two interleave no row is
-- behind the task's watermark and the results are the same.
CREATE TABLE orders (
  order_id BIGINT,
  customer STRING,
  ts       TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' MINUTE
) WITH ('connector' = 'filesystem', 'path' = 'input/orders.json', 'format' = 'json');

CREATE TABLE shipments (
  order_id BIGINT,
  carrier  STRING,
  ts       TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' MINUTE
) WITH ('connector' = 'filesystem', 'path' = 'input/shipments.json', 'format' = 'json');

CREATE TABLE shipped (order_id BIGINT, customer STRING, carrier STRING, shipped TIMESTAMP(3))
WITH ('connector' = 'filesystem', 'path' = 'out/shipped.json', 'format' = 'json');

CREATE TABLE unshipped (order_id BIGINT, customer STRING)
WITH ('connector' = 'filesystem', 'path' = 'out/unshipped.json', 'format' = 'json');

CREATE TABLE carriers (order_id BIGINT, carrier STRING)
WITH ('connector' = 'filesystem', 'path' = 'out/carriers.json', 'format' = 'json');

INSERT INTO shipped
SELECT o.order_id, o.customer, s.carrier, s.ts
FROM orders AS o
JOIN shipments AS s
  ON o.order_id = s.order_id AND s.ts BETWEEN o.ts AND o.ts + INTERVAL '1' DAY;

INSERT INTO unshipped
SELECT o.order_id, o.customer
FROM orders AS o
LEFT JOIN shipments AS s
  ON o.order_id = s.order_id AND s.ts BETWEEN o.ts AND o.ts + INTERVAL '1' DAY
WHERE s.order_id IS NULL;

INSERT INTO carriers
SELECT o.order_id, s.carrier FROM orders AS o JOIN shipments AS s ON o.order_id = s.order_id;
