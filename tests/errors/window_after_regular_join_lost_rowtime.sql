-- After a regular (non-interval) join, click_time is no longer a time attribute, so it cannot drive a window.

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

CREATE TABLE users (
    user_id  BIGINT,
    country  STRING
) WITH (
    'connector' = 'kafka',
    'topic' = 'users',
    'properties.bootstrap.servers' = 'kafka:9092',
    'format' = 'json'
);

CREATE VIEW clicks_with_country AS
SELECT c.user_id, c.click_time, u.country
FROM clicks AS c
JOIN users AS u ON c.user_id = u.user_id;

CREATE TABLE clicks_per_country (country STRING, window_start TIMESTAMP(3), n BIGINT) WITH ('connector' = 'print');

INSERT INTO clicks_per_country
SELECT country, window_start, COUNT(*)
FROM TABLE(TUMBLE(TABLE clicks_with_country, DESCRIPTOR(click_time), INTERVAL '1' MINUTE))
GROUP BY country, window_start, window_end;
