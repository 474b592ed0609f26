-- PENDING (bug): decimal division. Flink types DECIMAL(p1, s1) / DECIMAL(p2, s2) as
-- scale = max(6, s1 + p2 + 1), precision = p1 - s1 + s2 + scale, an integer operand
-- counting as DECIMAL(10, 0), and divides HALF_UP at that scale. dflc types DECIMAL / INT
-- with the decimal's own scale (1.0 / 3 gives '0.3', DECIMAL(3, 0) 2 / 3 gives '1'), and
-- divides with only max(s1, 6) digits before rescaling (DECIMAL(10, 2) 1.00 / 3.00 gives
-- '0.3333330000000' instead of '0.3333333333333').
CREATE TABLE q (id INT, a DECIMAL(10, 2), n INT, w DECIMAL(3, 0)) WITH (
  'connector' = 'filesystem',
  'path' = 'input/q.json',
  'format' = 'json'
);

CREATE TABLE quotients (id INT, by_int STRING, by_dec STRING, one_by STRING, small STRING) WITH (
  'connector' = 'filesystem',
  'path' = 'out/quotients/',
  'format' = 'json'
);

INSERT INTO quotients
SELECT
  id,
  CAST(a / n AS STRING),                          -- DECIMAL(21, 13)
  CAST(a / CAST(n AS DECIMAL(10, 2)) AS STRING),  -- DECIMAL(23, 13)
  CAST(1.0 / n AS STRING),                        -- DECIMAL(13, 12)
  CAST(w / n AS STRING)                           -- DECIMAL(14, 11)
FROM q;
