-- Orders priced in EUR at the exchange rate valid when each order was placed: an
-- event-time temporal join against a versioned table backed by an upsert-kafka topic.

CREATE TABLE orders (
    order_id    STRING,
    user_id     BIGINT,
    amount      DECIMAL(10, 2),
    currency    STRING,
    order_time  TIMESTAMP(3),
    WATERMARK FOR order_time AS order_time - INTERVAL '5' SECOND
) WITH (
    'connector' = 'kafka',
    'topic' = 'orders',
    'properties.bootstrap.servers' = 'kafka:9092',
    'properties.group.id' = 'orders-in-eur',
    'format' = 'json'
);

CREATE TABLE currency_rates (
    currency     STRING,
    rate_to_eur  DECIMAL(12, 6),
    update_time  TIMESTAMP(3),
    WATERMARK FOR update_time AS update_time - INTERVAL '15' SECOND,
    PRIMARY KEY (currency) NOT ENFORCED
) WITH (
    'connector' = 'upsert-kafka',
    'topic' = 'currency-rates',
    'properties.bootstrap.servers' = 'kafka:9092',
    'key.format' = 'raw',
    'value.format' = 'json'
);

CREATE TABLE orders_in_eur (
    order_id    STRING,
    user_id     BIGINT,
    amount_eur  DECIMAL(22, 8),
    order_time  TIMESTAMP(3)
) WITH (
    'connector' = 'kafka',
    'topic' = 'orders-in-eur',
    'properties.bootstrap.servers' = 'kafka:9092',
    'format' = 'json'
);

INSERT INTO orders_in_eur
SELECT
    o.order_id,
    o.user_id,
    o.amount * r.rate_to_eur,
    o.order_time
FROM orders AS o
LEFT JOIN currency_rates FOR SYSTEM_TIME AS OF o.order_time AS r
    ON o.currency = r.currency;
