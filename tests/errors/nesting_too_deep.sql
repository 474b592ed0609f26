-- An expression nested 60 parentheses deep (generated code gone wrong).

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

CREATE TABLE prices (price DOUBLE) WITH ('connector' = 'blackhole');

INSERT INTO prices
SELECT ((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((price))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))
FROM clicks;
