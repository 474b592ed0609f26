-- An OVER clause naming a window (OVER w) instead of spelling it out.

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
SELECT user_id, SUM(price) OVER w
FROM clicks;
