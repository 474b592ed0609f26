-- Casts between strings and numbers (TRY_CAST of bad text is NULL), decimal rounding
-- (half up) and truncation to integers, CAST AS VARCHAR(n) cutting the text, decimal
-- arithmetic, integer division and remainders (signs as in Java), DOUBLE arithmetic.
CREATE TABLE amounts (
  id      INT,
  txt     STRING,
  num_txt STRING,
  price   DECIMAL(10, 4),
  qty     INT,
  d       DOUBLE
) WITH (
  'connector' = 'filesystem',
  'path' = 'input/amounts.csv',
  'format' = 'csv'
);

CREATE TABLE converted (
  id        INT,
  as_int    INT,
  as_dec    DECIMAL(5, 2),
  bad_dec   DECIMAL(5, 2),
  price_2   DECIMAL(10, 2),
  price_int INT,
  d_int     INT,
  qty_str   STRING,
  d_str     STRING,
  price_str STRING,
  txt2      STRING,
  prod      DECIMAL(21, 4),
  per_unit  DECIMAL(12, 4),
  half      INT,
  rem       INT,
  modulo    INT,
  plus      DECIMAL(12, 4),
  rounded   DECIMAL(12, 2),
  rounded0  DECIMAL(12, 0),
  truncated DECIMAL(12, 1),
  dbl       DOUBLE,
  dbl_div   DOUBLE,
  int_dec   DECIMAL(12, 1),
  mixed     DOUBLE,
  big       BIGINT
) WITH (
  'connector' = 'filesystem',
  'path' = 'out/converted/',
  'format' = 'json'
);

INSERT INTO converted
SELECT
  id,
  TRY_CAST(txt AS INT),
  TRY_CAST(num_txt AS DECIMAL(5, 2)),
  TRY_CAST(txt AS DECIMAL(5, 2)),
  CAST(price AS DECIMAL(10, 2)),
  CAST(price AS INT),
  CAST(d AS INT),
  CAST(qty AS STRING),
  CAST(d + 0.25 AS STRING),
  CAST(price AS STRING),
  CAST(txt AS VARCHAR(2)),
  price * qty,
  CAST(price / NULLIF(qty, 0) AS DECIMAL(12, 4)),
  qty / 2,
  qty % 3,
  MOD(qty, -3),
  price + 0.1,
  ROUND(price, 2),
  ROUND(TRY_CAST(num_txt AS DECIMAL(5, 2)), 0),
  TRUNCATE(price, 1),
  d * 2,
  d / 4,
  qty * 1.5,
  qty + d,
  CAST(qty AS BIGINT) * 1000000000000
FROM amounts;
