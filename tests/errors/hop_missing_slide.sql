-- HOP needs both a slide and a size; only one interval is given.

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

CREATE TABLE hopping (window_start TIMESTAMP(3), n BIGINT) WITH ('connector' = 'blackhole');

INSERT INTO hopping
SELECT window_start, COUNT(*)
FROM TABLE(HOP(TABLE clicks, DESCRIPTOR(click_time), INTERVAL '10' MINUTE))
GROUP BY window_start, window_end;
