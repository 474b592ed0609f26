-- PENDING (bug): a ROW(…) value written into a ROW column generates Rust that does not
-- compile (E0308: expected Option<R_…_who>, found Option<R_row>): the constructed row's
-- struct is not converted to the column's. (ARRAY['x', 'y'] into ARRAY<STRING> is refused
-- with DFL0700 "casting ARRAY<CHAR(1)> to ARRAY<STRING>".)
CREATE TABLE people (id INT, name STRING, city STRING) WITH (
  'connector' = 'filesystem',
  'path' = 'input/people.json',
  'format' = 'json'
);

CREATE TABLE nested (id INT, who ROW<name STRING, city STRING>, tags ARRAY<STRING>) WITH (
  'connector' = 'filesystem',
  'path' = 'out/nested/',
  'format' = 'json'
);

INSERT INTO nested SELECT id, ROW(name, city), ARRAY['p', name] FROM people;
