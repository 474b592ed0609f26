-- A Redis lookup table joined FOR SYSTEM_TIME AS OF the event-time column; lookups happen at processing time.

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

CREATE TABLE profiles (
    user_id  BIGINT,
    segment  STRING,
    PRIMARY KEY (user_id) NOT ENFORCED
) WITH (
    'connector' = 'redis',
    'url' = 'redis://profiles:6379'
);

CREATE TABLE segmented (user_id BIGINT, segment STRING) WITH ('connector' = 'print');

INSERT INTO segmented
SELECT c.user_id, p.segment
FROM clicks AS c
JOIN profiles FOR SYSTEM_TIME AS OF c.click_time AS p
  ON c.user_id = p.user_id;
