-- PENDING (bug): SET 'table.exec.sink.not-null-enforcer' = 'DROP' is accepted but has no
-- effect: the run fails with "column `id` is NOT NULL, but the query produced NULL"
-- instead of dropping the row.
SET 'table.exec.sink.not-null-enforcer' = 'DROP';

CREATE TABLE people (id INT, name STRING) WITH (
  'connector' = 'filesystem',
  'path' = 'input/people.json',
  'format' = 'json'
);

CREATE TABLE roster (id INT NOT NULL, name STRING) WITH (
  'connector' = 'filesystem',
  'path' = 'out/roster.json',
  'format' = 'json'
);

INSERT INTO roster SELECT id, name FROM people;
