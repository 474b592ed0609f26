-- INTERSECT is not supported (use a join, or EXISTS).

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

CREATE TABLE users (user_id BIGINT) WITH ('connector' = 'blackhole');

INSERT INTO users
SELECT user_id FROM clicks WHERE category = 'books'
INTERSECT
SELECT user_id FROM clicks WHERE category = 'music';
