-- A comma is missing before COUNT(*), so the parser reads `category COUNT` as an alias.

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

CREATE TABLE sink (user_id BIGINT, category STRING, n BIGINT) WITH ('connector' = 'print');

INSERT INTO sink
SELECT user_id, category COUNT(*)
FROM clicks
GROUP BY user_id, category;
