-- '+' on a string: string concatenation is written ||.

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

CREATE TABLE labels (label STRING) WITH ('connector' = 'blackhole');

INSERT INTO labels
SELECT 'cat-' + 1 FROM clicks;
