-- SPLIT_INDEX takes a string, a separator and an index; the index is missing.

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

CREATE TABLE parts (part STRING) WITH ('connector' = 'blackhole');

INSERT INTO parts
SELECT SPLIT_INDEX(category, '/') FROM clicks;
