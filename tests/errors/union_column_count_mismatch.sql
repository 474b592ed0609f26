-- The two sides of UNION ALL return a different number of columns.

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

CREATE TABLE views (user_id BIGINT, item_id BIGINT) WITH ('connector' = 'datagen');

CREATE TABLE touches (user_id BIGINT, item_id BIGINT, kind STRING) WITH ('connector' = 'blackhole');

INSERT INTO touches
SELECT user_id, item_id, 'click' FROM clicks
UNION ALL
SELECT user_id, item_id FROM views;
