-- TUMBLE_START used without GROUP BY TUMBLE(...).

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

CREATE TABLE starts (user_id BIGINT, ws TIMESTAMP(3)) WITH ('connector' = 'blackhole');

INSERT INTO starts
SELECT user_id, TUMBLE_START(click_time, INTERVAL '1' MINUTE)
FROM clicks;
