-- A regular join followed by a processing-time lookup join against Redis profiles.
SET 'table.exec.state.ttl' = '1 h';

CREATE TABLE orders (
  order_id BIGINT, user_id BIGINT, currency STRING,
  pt AS PROCTIME()
) WITH ('connector' = 'datagen');

CREATE TABLE shipments (order_id BIGINT, carrier STRING) WITH ('connector' = 'datagen');

CREATE TABLE currencies (
  currency STRING, rate DOUBLE,
  PRIMARY KEY (currency) NOT ENFORCED
) WITH ('connector' = 'redis', 'url' = 'redis://127.0.0.1:6379', 'key' = 'fx:{currency}');

CREATE TABLE out (order_id BIGINT, carrier STRING, rate DOUBLE) WITH ('connector' = 'print');

INSERT INTO out
SELECT o.order_id, s.carrier, c.rate
FROM orders AS o
JOIN shipments AS s ON o.order_id = s.order_id
JOIN currencies FOR SYSTEM_TIME AS OF o.pt AS c ON o.currency = c.currency;
