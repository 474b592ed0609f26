-- PENDING (bug): CAST(DOUBLE AS STRING) uses Rust's formatting instead of Java's
-- Double.toString: 1000.0 gives '1000' (Flink: '1000.0'), 1e20 gives
-- '100000000000000000000' (Flink: '1.0E20'), 1e-5 gives '0.00001' (Flink: '1.0E-5').
-- The same for FLOAT. ROUND of a DOUBLE is HALF_UP (away from zero), as BigDecimal does.
CREATE TABLE nums (id INT, d DOUBLE) WITH (
  'connector' = 'filesystem',
  'path' = 'input/nums.json',
  'format' = 'json'
);

CREATE TABLE shown (id INT, s STRING, r STRING) WITH (
  'connector' = 'filesystem',
  'path' = 'out/shown/',
  'format' = 'json'
);

INSERT INTO shown SELECT id, CAST(d AS STRING), CAST(ROUND(d, 0) AS STRING) FROM nums;
