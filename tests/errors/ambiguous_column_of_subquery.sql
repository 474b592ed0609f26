-- The subquery returns two columns named user_id, so the outer user_id is ambiguous.

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

CREATE TABLE ids (user_id BIGINT) WITH ('connector' = 'blackhole');

INSERT INTO ids
SELECT user_id
FROM (SELECT user_id, item_id AS user_id FROM clicks);
