-- A filesystem sink PARTITIONED BY (day, kind), as Flink writes it: every row goes to
-- day=<day>/kind=<kind>/ under the sink's folder (in PARTITIONED BY order, not column
-- order), values escaped ('/', '=', '%', ':' become %XX), NULL and '' to
-- __DEFAULT_PARTITION__; the partition columns are left out of the records; every
-- partition, once committed, holds a _SUCCESS file.
CREATE TABLE events (
  id     INT,
  ts     TIMESTAMP(3),
  kind   STRING,
  amount DOUBLE
) WITH (
  'connector' = 'filesystem',
  'path' = 'input/events.json',
  'format' = 'json'
);

CREATE TABLE by_day_kind (
  id     INT,
  kind   STRING,
  amount DOUBLE,
  day    STRING
) PARTITIONED BY (day, kind) WITH (
  'connector' = 'filesystem',
  'path' = 'out/by_day_kind/',
  'format' = 'json',
  'sink.partition-commit.policy.kind' = 'success-file'
);

INSERT INTO by_day_kind SELECT id, kind, amount, DATE_FORMAT(ts, 'yyyy-MM-dd') FROM events;
