-- PENDING (bug): bare NULL literals in VALUES (and a multi-row VALUES whose rows have
-- different types in a column: 1.50 / 20 / NULL) generate Rust that does not compile
-- (E0282/E0283 "type annotations needed" for `let v = None`, or E0308 when a row's value
-- is not converted to the VALUES column type). Expected output computed by hand.
-- No source tables: INSERT … VALUES (several rows with NULLs and literals of different
-- lengths and types, which must not be padded), an INSERT with a column list (the other
-- columns NULL), and a SELECT over VALUES in FROM, written by one statement set to two
-- sinks.
CREATE TABLE codes (
  code  STRING,
  n     INT,
  price DECIMAL(6, 2),
  seen  DATE,
  ok    BOOLEAN
) WITH (
  'connector' = 'filesystem',
  'path' = 'out/codes/',
  'format' = 'json'
);

CREATE TABLE big_codes (
  code    STRING,
  doubled BIGINT,
  tag     STRING
) WITH (
  'connector' = 'filesystem',
  'path' = 'out/big_codes.csv',
  'format' = 'csv'
);

EXECUTE STATEMENT SET BEGIN
INSERT INTO codes VALUES
  ('a', 1, 1.50, DATE '2024-01-01', TRUE),
  ('bb', NULL, 20, DATE '2024-02-29', FALSE),
  ('ccc', -3, NULL, NULL, NULL);
INSERT INTO codes (n, code) VALUES (7, 'partial');
INSERT INTO big_codes
SELECT UPPER(c), CAST(n AS BIGINT) * 2, CASE WHEN n > 1000 THEN 'huge' ELSE 'ok' END
FROM (VALUES ('x', 10), ('y', 200), ('zz', 3000)) AS v (c, n)
WHERE n >= 200;
END;
