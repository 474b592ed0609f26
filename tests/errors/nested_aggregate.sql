-- An aggregate inside another aggregate.

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

CREATE TABLE stats (category STRING, m DOUBLE) WITH ('connector' = 'print');

INSERT INTO stats
SELECT category, MAX(AVG(price))
FROM clicks
GROUP BY category;
