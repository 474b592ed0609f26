-- A datagen table is a source only; it cannot be written to.

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

CREATE TABLE fake_users (user_id BIGINT, category STRING) WITH ('connector' = 'datagen');

INSERT INTO fake_users
SELECT user_id, category FROM clicks;
