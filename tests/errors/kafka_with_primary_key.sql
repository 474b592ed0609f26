-- A plain kafka table is an append-only log and cannot have a PRIMARY KEY.
CREATE TABLE clicks (
  user_id BIGINT,
  url     STRING,
  PRIMARY KEY (user_id) NOT ENFORCED
) WITH (
  'connector' = 'kafka',
  'topic' = 'clicks',
  'properties.bootstrap.servers' = '127.0.0.1:9092',
  'format' = 'json'
);
