-- Kafka has no 'timestmap' metadata (a typo of 'timestamp'); datagen has no metadata at all.
CREATE TABLE clicks (
  user_id BIGINT,
  ts      TIMESTAMP_LTZ(3) METADATA FROM 'timestmap'
) WITH (
  'connector' = 'kafka',
  'topic' = 'clicks',
  'properties.bootstrap.servers' = '127.0.0.1:9092',
  'format' = 'json'
);
CREATE TABLE generated (
  id BIGINT,
  p  INT METADATA FROM 'partition'
) WITH ('connector' = 'datagen');
