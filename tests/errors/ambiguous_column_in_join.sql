-- Both joined tables have user_id, and the SELECT does not say which.

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

CREATE TABLE users (
    user_id  BIGINT,
    country  STRING,
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
SELECT user_id, country
FROM clicks AS c
JOIN users AS u ON c.user_id = u.user_id;
