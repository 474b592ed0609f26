-- CREATE FUNCTION naming a Java class dflc has no native port of.

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

CREATE FUNCTION normalize_category AS 'com.example.udf.NormalizeCategory';

CREATE TABLE normalized (category STRING) WITH ('connector' = 'blackhole');

INSERT INTO normalized
SELECT normalize_category(category) FROM clicks;
