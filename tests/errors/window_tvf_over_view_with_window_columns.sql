-- The view already has window_start/window_end/window_time, and a second TUMBLE adds them again: window_start is ambiguous.

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

CREATE VIEW per_minute AS
SELECT user_id, window_start, window_end, window_time, COUNT(*) AS n
FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(click_time), INTERVAL '1' MINUTE))
GROUP BY user_id, window_start, window_end, window_time;

CREATE TABLE per_hour (user_id BIGINT, hour_start TIMESTAMP(3), n BIGINT) WITH ('connector' = 'blackhole');

INSERT INTO per_hour
SELECT user_id, window_start, SUM(n)
FROM TABLE(TUMBLE(TABLE per_minute, DESCRIPTOR(window_time), INTERVAL '1' HOUR))
GROUP BY user_id, window_start, window_end;
