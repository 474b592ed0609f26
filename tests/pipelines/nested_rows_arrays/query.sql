-- Nested ROW columns read from JSON objects and accessed with `.field` (through a NULL or
-- missing parent: NULL), ARRAY columns indexed from 1 (out of range: NULL), CARDINALITY,
-- and ARRAY and ROW values written back as JSON arrays and objects.
CREATE TABLE orders (
  id       BIGINT,
  customer ROW<name STRING, address ROW<city STRING, zip STRING>>,
  tags     ARRAY<STRING>,
  scores   ARRAY<INT>
) WITH (
  'connector' = 'filesystem',
  'path' = 'input/orders.json',
  'format' = 'json'
);

CREATE TABLE flat (
  id        BIGINT,
  name      STRING,
  city      STRING,
  first_tag STRING,
  third_tag STRING,
  n_tags    INT,
  score2    INT,
  pair      ARRAY<STRING>,
  place     ROW<city STRING, zip STRING>,
  tags      ARRAY<STRING>
) WITH (
  'connector' = 'filesystem',
  'path' = 'out/flat/',
  'format' = 'json'
);

INSERT INTO flat
SELECT
  id,
  customer.name,
  customer.address.city,
  tags[1],
  tags[3],
  CARDINALITY(tags),
  scores[2],
  ARRAY[customer.name, customer.address.zip],
  customer.address,
  tags
FROM orders;
