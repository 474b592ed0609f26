-- One CASE branch gives a number, another a string.

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

CREATE TABLE buckets (user_id BIGINT, bucket STRING) WITH ('connector' = 'blackhole');

INSERT INTO buckets
SELECT user_id,
       CASE WHEN price > 100 THEN 'premium' WHEN price > 10 THEN 1 ELSE 'budget' END
FROM clicks;
