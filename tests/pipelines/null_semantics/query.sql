-- Three-valued logic: NULL in arithmetic, comparisons, IN lists with a NULL, CASE,
-- COALESCE/IFNULL/NULLIF, AND/OR/NOT, and WHERE keeping only rows whose condition is TRUE.
CREATE TABLE readings (
  id   INT,
  a    INT,
  b    INT,
  s    STRING,
  flag BOOLEAN
) WITH (
  'connector' = 'filesystem',
  'path' = 'input/readings.json',
  'format' = 'json'
);

CREATE TABLE derived (
  id          INT,
  a_plus_b    INT,
  a_gt_b      BOOLEAN,
  same        BOOLEAN,
  in_list     BOOLEAN,
  not_in_list BOOLEAN,
  first_known INT,
  s_or_none   STRING,
  size_class  STRING,
  flag_word   STRING,
  a_unless_b  INT,
  not_flag    BOOLEAN,
  flag_and    BOOLEAN,
  flag_or     BOOLEAN,
  shout       STRING
) WITH (
  'connector' = 'filesystem',
  'path' = 'out/derived/',
  'format' = 'json'
);

CREATE TABLE matched (id INT, why STRING) WITH (
  'connector' = 'filesystem',
  'path' = 'out/matched.csv',
  'format' = 'csv'
);

INSERT INTO derived
SELECT
  id,
  a + b,
  a > b,
  a IS NOT DISTINCT FROM b,
  a IN (10, CAST(NULL AS INT)),
  a NOT IN (10, CAST(NULL AS INT)),
  COALESCE(a, b, -1),
  IFNULL(s, 'none'),
  CASE WHEN a > 5 THEN 'big' WHEN a IS NULL THEN 'null' ELSE 'small' END,
  CASE flag WHEN TRUE THEN 'yes' WHEN FALSE THEN 'no' ELSE 'unknown' END,
  NULLIF(a, b),
  NOT flag,
  flag AND a > 5,
  flag OR a > 5,
  s || '!'
FROM readings;

INSERT INTO matched
SELECT id, 'gt' FROM readings WHERE a > b
UNION ALL
SELECT id, 'not_gt' FROM readings WHERE NOT (a > b)
UNION ALL
SELECT id, 'a_null' FROM readings WHERE a IS NULL
UNION ALL
SELECT id, 'flag_not_true' FROM readings WHERE flag IS NOT TRUE
UNION ALL
SELECT id, 'not_in' FROM readings WHERE a NOT IN (10, CAST(NULL AS INT))
UNION ALL
SELECT id, 'ne' FROM readings WHERE a <> b
UNION ALL
SELECT id, 'between' FROM readings WHERE b BETWEEN 2 AND 5;
