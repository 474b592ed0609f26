-- No source tables: INSERT … VALUES (several rows with typed NULLs, and string literals
-- of different lengths, which must not be padded), an INSERT with a column list (the
-- other columns NULL), and a SELECT over VALUES in FROM with a CASE of differently long
-- strings, written by one statement set to two sinks.
CREATE TABLE codes (
  code  STRING,
  n     INT,
  price DECIMAL(12, 2),
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
  ('a', 1, CAST(1.5 AS DECIMAL(12, 2)), DATE '2024-01-01', TRUE),
  ('bb', CAST(NULL AS INT), CAST(20 AS DECIMAL(12, 2)), DATE '2024-02-29', FALSE),
  ('ccc', -3, CAST(NULL AS DECIMAL(12, 2)), CAST(NULL AS DATE), CAST(NULL AS BOOLEAN));
INSERT INTO codes (n, code) VALUES (7, 'partial');
INSERT INTO big_codes
SELECT UPPER(c), CAST(n AS BIGINT) * 2, CASE WHEN n > 1000 THEN 'huge' ELSE 'ok' END
FROM (VALUES ('x', 10), ('y', 200), ('zz', 3000)) AS v (c, n)
WHERE n >= 200;
END;
