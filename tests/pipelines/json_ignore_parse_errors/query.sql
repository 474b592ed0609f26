-- 'json.ignore-parse-errors': lines that are not JSON objects are skipped; a field that
-- cannot be read as its column's type becomes NULL and the row is kept; a scalar is read
-- as the text of a STRING column.
CREATE TABLE events (
  id     INT,
  name   STRING,
  amount DOUBLE
) WITH (
  'connector' = 'filesystem',
  'path' = 'input/events.json',
  'format' = 'json',
  'json.ignore-parse-errors' = 'true'
);

CREATE TABLE good (
  id     INT,
  name   STRING,
  amount DOUBLE
) WITH (
  'connector' = 'filesystem',
  'path' = 'out/good.json',
  'format' = 'json'
);

INSERT INTO good SELECT * FROM events;
