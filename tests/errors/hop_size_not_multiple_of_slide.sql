-- HOP's size (1 hour) must be a whole multiple of its slide (7 minutes) for a window aggregate.

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

CREATE TABLE hopping (window_end TIMESTAMP(3), n BIGINT) WITH ('connector' = 'blackhole');

INSERT INTO hopping
SELECT window_end, COUNT(*)
FROM TABLE(HOP(TABLE clicks, DESCRIPTOR(click_time), INTERVAL '7' MINUTE, INTERVAL '1' HOUR))
GROUP BY window_start, window_end;
