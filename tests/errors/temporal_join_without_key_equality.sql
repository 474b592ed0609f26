-- An event-time temporal join must have an equality on the versioned table's primary key; this one has only a range condition.

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

CREATE TABLE item_prices (
    item_id     BIGINT,
    list_price  DOUBLE,
    updated_at  TIMESTAMP(3),
    WATERMARK FOR updated_at AS updated_at,
    PRIMARY KEY (item_id) NOT ENFORCED
) WITH (
    'connector' = 'upsert-kafka',
    'topic' = 'item-prices',
    'properties.bootstrap.servers' = 'kafka:9092',
    'key.format' = 'json',
    'value.format' = 'json'
);

CREATE TABLE priced_clicks (item_id BIGINT, list_price DOUBLE) WITH ('connector' = 'blackhole');

INSERT INTO priced_clicks
SELECT c.item_id, p.list_price
FROM clicks AS c
JOIN item_prices FOR SYSTEM_TIME AS OF c.click_time AS p
  ON c.item_id > p.item_id;
