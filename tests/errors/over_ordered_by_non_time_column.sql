-- An OVER aggregate ordered by price instead of a time attribute.

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

CREATE TABLE running (user_id BIGINT, total DOUBLE) WITH ('connector' = 'blackhole');

INSERT INTO running
SELECT user_id,
       SUM(price) OVER (PARTITION BY user_id ORDER BY price
                        ROWS BETWEEN 5 PRECEDING AND CURRENT ROW)
FROM clicks;
