-- Computed columns on a source table: used in WHERE and SELECT, and included by SELECT *
-- (in declaration order); a NULL input column makes them NULL; a field of the same name
-- in the input is not read.
CREATE TABLE lines (
  order_id BIGINT,
  item     STRING,
  price    DECIMAL(8, 2),
  qty      INT,
  total    AS price * qty,
  label    AS UPPER(item) || '-' || CAST(order_id AS STRING),
  big      AS price * qty >= 100
) WITH (
  'connector' = 'filesystem',
  'path' = 'input/lines.json',
  'format' = 'json'
);

CREATE TABLE line_totals (
  order_id BIGINT,
  label    STRING,
  total    DECIMAL(12, 2),
  big      BOOLEAN
) WITH (
  'connector' = 'filesystem',
  'path' = 'out/line_totals.csv',
  'format' = 'csv'
);

CREATE TABLE all_lines (
  order_id BIGINT,
  item     STRING,
  price    DECIMAL(8, 2),
  qty      INT,
  total    DECIMAL(19, 2),
  label    STRING,
  big      BOOLEAN
) WITH (
  'connector' = 'filesystem',
  'path' = 'out/all_lines/',
  'format' = 'json'
);

INSERT INTO line_totals SELECT order_id, label, total, big FROM lines WHERE total > 10;

INSERT INTO all_lines SELECT * FROM lines;
