-- UNION ALL puts a STRING and a TIMESTAMP in the same column.

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

CREATE TABLE views (user_id BIGINT, item_id BIGINT, seen_at TIMESTAMP(3)) WITH ('connector' = 'datagen');

CREATE TABLE touches (user_id BIGINT, detail STRING) WITH ('connector' = 'blackhole');

INSERT INTO touches
SELECT user_id, category FROM clicks
UNION ALL
SELECT user_id, seen_at FROM views;
