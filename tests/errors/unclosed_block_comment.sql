-- A /* block comment is never closed.

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

/* TODO: add the sink once the topic exists

CREATE TABLE sink (user_id BIGINT) WITH ('connector' = 'blackhole');
