-- Two inputs of the FROM clause have the same alias c.

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

CREATE TABLE carts (user_id BIGINT, item_id BIGINT) WITH ('connector' = 'datagen');

CREATE TABLE both_sides (user_id BIGINT, item_id BIGINT) WITH ('connector' = 'blackhole');

INSERT INTO both_sides
SELECT c.user_id, c.item_id
FROM clicks AS c, carts AS c;
