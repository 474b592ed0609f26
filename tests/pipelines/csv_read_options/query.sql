-- CSV read options: another field delimiter and quote character (doubled inside a
-- quoted field), comment lines skipped, and 'csv.ignore-parse-errors' (a field that does
-- not parse becomes NULL, missing trailing fields are NULL, the row is kept).
CREATE TABLE readings (
  id   INT,
  name STRING,
  v    DOUBLE,
  ok   BOOLEAN
) WITH (
  'connector' = 'filesystem',
  'path' = 'input/readings.csv',
  'format' = 'csv',
  'csv.field-delimiter' = ';',
  'csv.quote-character' = '''',
  'csv.allow-comments' = 'true',
  'csv.ignore-parse-errors' = 'true'
);

CREATE TABLE parsed (
  id   INT,
  name STRING,
  v    DOUBLE,
  ok   BOOLEAN
) WITH (
  'connector' = 'filesystem',
  'path' = 'out/parsed/',
  'format' = 'json'
);

INSERT INTO parsed SELECT id, name, v, ok FROM readings;
