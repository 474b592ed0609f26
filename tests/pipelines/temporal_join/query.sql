-- Event-time temporal joins: each order with the exchange rate of its currency valid at
-- the order's time (`FOR SYSTEM_TIME AS OF o.ts` against the versioned table `rates`:
-- a PRIMARY KEY and a watermark; each row is a new version of its key from its time on).
-- An order waits until the watermark — the least of both tables' — passes its time, so
-- every version up to then is in. Order 1 comes before any EUR rate and order 6's
-- currency has none: the INNER join drops them, the LEFT join writes them with NULLs.
-- Order 4 at 10:30 sees the version of 10:30 itself.
CREATE TABLE orders (
  id       BIGINT,
  currency STRING,
  ts       TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' MINUTE
) WITH ('connector' = 'filesystem', 'path' = 'input/orders.json', 'format' = 'json');

CREATE TABLE rates (
  currency STRING,
  rate     DOUBLE,
  valid_from TIMESTAMP(3),
  WATERMARK FOR valid_from AS valid_from - INTERVAL '1' MINUTE,
  PRIMARY KEY (currency) NOT ENFORCED
) WITH ('connector' = 'filesystem', 'path' = 'input/rates.json', 'format' = 'json');

CREATE TABLE priced (id BIGINT, currency STRING, rate DOUBLE, valid_from TIMESTAMP(3))
WITH ('connector' = 'filesystem', 'path' = 'out/priced.json', 'format' = 'json');

CREATE TABLE all_orders (id BIGINT, rate DOUBLE)
WITH ('connector' = 'filesystem', 'path' = 'out/all_orders.json', 'format' = 'json');

INSERT INTO priced
SELECT o.id, o.currency, r.rate, r.valid_from
FROM orders AS o
JOIN rates FOR SYSTEM_TIME AS OF o.ts AS r ON o.currency = r.currency;

INSERT INTO all_orders
SELECT o.id, r.rate
FROM orders AS o
LEFT JOIN rates FOR SYSTEM_TIME AS OF o.ts AS r ON o.currency = r.currency;
