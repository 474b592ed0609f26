-- Running spend per user, kept as a changelog keyed by user in an upsert-kafka topic that
-- the profile service compacts. SET options tune state retention and parallelism.

SET 'table.exec.state.ttl' = '7 d';
SET 'parallelism.default' = '4';
SET 'pipeline.name' = 'user-spend';

CREATE TABLE orders (
    order_id     STRING,
    user_id      BIGINT,
    amount       DECIMAL(10, 2),
    currency     STRING,
    order_time   TIMESTAMP(3),
    WATERMARK FOR order_time AS order_time - INTERVAL '30' SECOND
) WITH (
    'connector' = 'kafka',
    'topic' = 'orders',
    'properties.bootstrap.servers' = 'kafka:9092',
    'properties.group.id' = 'user-spend',
    'scan.startup.mode' = 'earliest-offset',
    'format' = 'json'
);

CREATE TABLE user_spend (
    user_id        BIGINT,
    orders         BIGINT,
    total_spend    DECIMAL(38, 2),
    smallest_order DECIMAL(10, 2),
    last_order_at  TIMESTAMP(3),
    PRIMARY KEY (user_id) NOT ENFORCED
) WITH (
    'connector' = 'upsert-kafka',
    'topic' = 'user-spend',
    'properties.bootstrap.servers' = 'kafka:9092',
    'key.format' = 'json',
    'value.format' = 'json',
    'sink.buffer-flush.max-rows' = '1000',
    'sink.buffer-flush.interval' = '1 s'
);

INSERT INTO user_spend
SELECT
    user_id,
    COUNT(order_id),
    SUM(amount),
    MIN(amount),
    MAX(order_time)
FROM orders
WHERE currency = 'EUR'
GROUP BY user_id;
