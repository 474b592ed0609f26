-- CREATE TABLE … LIKE with no column list at all (Flink allows omitting it); dflc does not support LIKE.

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

CREATE TABLE clicks_archive WITH (
    'connector' = 'filesystem',
    'path' = 'file:///archive/clicks',
    'format' = 'json'
) LIKE clicks (EXCLUDING OPTIONS);
