-- item_id is selected but neither grouped nor aggregated.

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

CREATE TABLE per_category (category STRING, item_id BIGINT, n BIGINT) WITH ('connector' = 'print');

INSERT INTO per_category
SELECT category, item_id, COUNT(*)
FROM clicks
GROUP BY category;
