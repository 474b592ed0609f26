-- CUMULATE's max size (1 hour) must be a whole multiple of its step (7 minutes).

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

CREATE TABLE so_far (window_end TIMESTAMP(3), n BIGINT) WITH ('connector' = 'blackhole');

INSERT INTO so_far
SELECT window_end, COUNT(*)
FROM TABLE(CUMULATE(TABLE clicks, DESCRIPTOR(click_time), INTERVAL '7' MINUTE, INTERVAL '1' HOUR))
GROUP BY window_start, window_end;
