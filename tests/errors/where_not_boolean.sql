-- The WHERE condition is a number, not a BOOLEAN (a comparison was forgotten).

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

CREATE TABLE clicked (user_id BIGINT) WITH ('connector' = 'blackhole');

INSERT INTO clicked
SELECT user_id FROM clicks WHERE item_id;
