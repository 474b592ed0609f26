-- CREATE TABLE … LIKE (copying another table's schema and options) is not supported.

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

CREATE TABLE clicks_from_start (
    WATERMARK FOR click_time AS click_time - INTERVAL '1' MINUTE
) WITH (
    'scan.startup.mode' = 'earliest-offset'
)
LIKE clicks (OVERWRITING WATERMARKS);
