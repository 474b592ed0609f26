-- CSV in, JSON out: quoted fields with embedded commas and doubled quotes, empty fields
-- (the empty string for a STRING column, NULL for any other type), and the null literal.
CREATE TABLE people (
  id     INT,
  name   STRING,
  note   STRING,
  age    INT,
  score  DECIMAL(5, 2),
  active BOOLEAN
) WITH (
  'connector' = 'filesystem',
  'path' = 'input/people.csv',
  'format' = 'csv',
  'csv.null-literal' = 'N/A'
);

CREATE TABLE people_out (
  id           INT,
  name         STRING,
  note         STRING,
  note_missing BOOLEAN,
  age          INT,
  score        DECIMAL(5, 2),
  active       BOOLEAN,
  name_len     INT
) WITH (
  'connector' = 'filesystem',
  'path' = 'out/people/',
  'format' = 'json'
);

INSERT INTO people_out
SELECT id, name, note, note IS NULL, age, score, active, CHAR_LENGTH(name)
FROM people;
