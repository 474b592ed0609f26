-- February has no 30th day.

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

CREATE TABLE recent (user_id BIGINT) WITH ('connector' = 'blackhole');

INSERT INTO recent
SELECT user_id FROM clicks WHERE CAST(click_time AS DATE) >= DATE '2023-02-30';
