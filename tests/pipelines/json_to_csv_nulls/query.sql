-- JSON in, CSV out: fields with commas and quotes are quoted (quotes doubled); NULL is
-- an empty field, or the null literal when one is set; numbers and booleans given as JSON
-- strings are read leniently; a missing field is NULL. Two sinks in one statement set.
CREATE TABLE orders (
  id       INT,
  customer STRING,
  comment  STRING,
  amount   DECIMAL(10, 2),
  qty      INT,
  shipped  BOOLEAN
) WITH (
  'connector' = 'filesystem',
  'path' = 'input/orders.json',
  'format' = 'json'
);

CREATE TABLE orders_csv (
  id       INT,
  customer STRING,
  comment  STRING,
  amount   DECIMAL(10, 2),
  qty      INT,
  shipped  BOOLEAN,
  total    DECIMAL(12, 2)
) WITH (
  'connector' = 'filesystem',
  'path' = 'out/orders.csv',
  'format' = 'csv'
);

CREATE TABLE orders_null_literal (
  id       INT,
  customer STRING,
  comment  STRING,
  amount   DECIMAL(10, 2),
  qty      INT,
  shipped  BOOLEAN,
  total    DECIMAL(12, 2)
) WITH (
  'connector' = 'filesystem',
  'path' = 'out/orders_nl/',
  'format' = 'csv',
  'csv.null-literal' = 'NULL'
);

BEGIN STATEMENT SET;
INSERT INTO orders_csv SELECT id, customer, comment, amount, qty, shipped, amount * qty FROM orders;
INSERT INTO orders_null_literal SELECT id, customer, comment, amount, qty, shipped, amount * qty FROM orders;
END;
