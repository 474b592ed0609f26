-- An upsert-kafka table needs a PRIMARY KEY: it decides which row an update replaces.
CREATE TABLE profiles (
  user_id BIGINT,
  clicks  BIGINT
) WITH (
  'connector' = 'upsert-kafka',
  'topic' = 'profiles',
  'properties.bootstrap.servers' = '127.0.0.1:9092',
  'key.format' = 'json',
  'value.format' = 'json'
);
