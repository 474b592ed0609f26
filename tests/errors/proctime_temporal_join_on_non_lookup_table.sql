-- A processing-time temporal join against an upsert-kafka table: only lookup tables (redis) can be joined at processing time.

CREATE TABLE clicks (
    user_id    BIGINT,
    item_id    BIGINT,
    proc_time  AS PROCTIME()
) WITH (
    'connector' = 'datagen'
);

CREATE TABLE users (
    user_id     BIGINT,
    country     STRING,
    updated_at  TIMESTAMP(3),
    WATERMARK FOR updated_at AS updated_at,
    PRIMARY KEY (user_id) NOT ENFORCED
) WITH (
    'connector' = 'upsert-kafka',
    'topic' = 'users',
    'properties.bootstrap.servers' = 'kafka:9092',
    'key.format' = 'json',
    'value.format' = 'json'
);

CREATE TABLE clicks_by_country (user_id BIGINT, country STRING) WITH ('connector' = 'print');

INSERT INTO clicks_by_country
SELECT c.user_id, u.country
FROM clicks AS c
JOIN users FOR SYSTEM_TIME AS OF c.proc_time AS u
  ON c.user_id = u.user_id;
