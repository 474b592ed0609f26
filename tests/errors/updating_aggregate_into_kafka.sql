-- A non-windowed GROUP BY updates its counts, but the kafka sink only takes appends (use upsert-kafka).

CREATE TABLE clicks (
    user_id     BIGINT,
    item_id     BIGINT,
    category    STRING,
    price       DOUBLE,
    click_time  TIMESTAMP(3),
    WATERMARK FOR click_time AS click_time - INTERVAL '5' SECOND
) WITH (
    'connector' = 'kafka',
    'topic' = 'clicks',
    'properties.bootstrap.servers' = 'kafka:9092',
    'format' = 'json'
);

CREATE TABLE clicks_per_user (
    user_id  BIGINT,
    clicks   BIGINT
) WITH (
    'connector' = 'kafka',
    'topic' = 'clicks-per-user',
    'properties.bootstrap.servers' = 'kafka:9092',
    'format' = 'json'
);

INSERT INTO clicks_per_user
SELECT user_id, COUNT(*) FROM clicks GROUP BY user_id;
