-- A streaming ORDER BY on a non-time column without LIMIT would have to re-sort the whole stream.

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

CREATE TABLE sorted (user_id BIGINT, price DOUBLE) WITH ('connector' = 'print');

INSERT INTO sorted
SELECT user_id, price FROM clicks ORDER BY price DESC;
