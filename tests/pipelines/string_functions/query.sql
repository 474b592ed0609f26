-- String functions on ordinary, edge-case and NULL input.
CREATE TABLE texts (
  id    INT,
  s     STRING,
  path  STRING,
  email STRING,
  code  STRING
) WITH (
  'connector' = 'filesystem',
  'path' = 'input/texts.json',
  'format' = 'json'
);

CREATE TABLE shaped (
  id         INT,
  upper_s    STRING,
  lower_s    STRING,
  initcap_s  STRING,
  len        INT,
  head       STRING,
  tail       STRING,
  part1      STRING,
  part0      STRING,
  digits     STRING,
  masked     STRING,
  joined     STRING,
  joined_ws  STRING,
  padded_id  STRING,
  rpadded    STRING,
  cut        STRING,
  underscored STRING,
  ltrimmed   STRING,
  rtrimmed   STRING,
  trimmed_a  STRING,
  domain     STRING,
  rev        STRING,
  pos        INT,
  is_hello   BOOLEAN
) WITH (
  'connector' = 'filesystem',
  'path' = 'out/shaped/',
  'format' = 'json'
);

INSERT INTO shaped
SELECT
  id,
  UPPER(TRIM(s)),
  LOWER(s),
  INITCAP(TRIM(s)),
  CHAR_LENGTH(s),
  SUBSTRING(TRIM(s), 1, 5),
  SUBSTRING(TRIM(s) FROM 7),
  SPLIT_INDEX(path, '/', 1),
  SPLIT_INDEX(path, '/', 0),
  REGEXP_EXTRACT(code, '([a-z]+)-(\d+)', 2),
  REGEXP_REPLACE(code, '[0-9]', '#'),
  CONCAT(path, '|', email),
  CONCAT_WS('-', path, CAST(NULL AS STRING), code),
  LPAD(CAST(id AS STRING), 4, '0'),
  RPAD(path, 6, '*'),
  LPAD(path, 3, 'x'),
  REPLACE(email, '.', '_'),
  TRIM(LEADING FROM s),
  TRIM(TRAILING ' ' FROM s),
  TRIM(BOTH 'a' FROM code),
  LOWER(SPLIT_INDEX(email, '@', 1)),
  REVERSE(path),
  POSITION('o' IN s),
  s LIKE '%Hello%'
FROM texts;
