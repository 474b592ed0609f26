-- The table name is misspelt (clikcs for clicks).

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

CREATE TABLE sink (
    user_id   BIGINT,
    category  STRING,
    n         BIGINT
) WITH (
    'connector' = 'blackhole'
);

INSERT INTO sink
SELECT user_id, category, COUNT(*)
FROM clikcs
GROUP BY user_id, category;
