-- Conversion signal for the recommender: a product view followed by an add-to-cart of the
-- same product by the same user within 15 minutes (interval join on event time).

CREATE TABLE product_views (
    user_id     BIGINT,
    product_id  BIGINT,
    source      STRING,
    view_time   TIMESTAMP(3),
    WATERMARK FOR view_time AS view_time - INTERVAL '5' SECOND
) WITH (
    'connector' = 'kafka',
    'topic' = 'product-views',
    'properties.bootstrap.servers' = 'kafka:9092',
    'properties.group.id' = 'view-to-cart',
    'format' = 'json'
);

CREATE TABLE cart_adds (
    user_id     BIGINT,
    product_id  BIGINT,
    quantity    INT,
    add_time    TIMESTAMP(3),
    WATERMARK FOR add_time AS add_time - INTERVAL '5' SECOND
) WITH (
    'connector' = 'kafka',
    'topic' = 'cart-adds',
    'properties.bootstrap.servers' = 'kafka:9092',
    'properties.group.id' = 'view-to-cart',
    'format' = 'json'
);

CREATE TABLE view_to_cart (
    user_id          BIGINT,
    product_id       BIGINT,
    source           STRING,
    seconds_to_cart  INT,
    add_time         TIMESTAMP(3)
) WITH (
    'connector' = 'kafka',
    'topic' = 'view-to-cart',
    'properties.bootstrap.servers' = 'kafka:9092',
    'format' = 'json'
);

INSERT INTO view_to_cart
SELECT
    v.user_id,
    v.product_id,
    v.source,
    TIMESTAMPDIFF(SECOND, v.view_time, c.add_time),
    c.add_time
FROM product_views AS v
JOIN cart_adds AS c
  ON v.user_id = c.user_id
 AND v.product_id = c.product_id
 AND c.add_time BETWEEN v.view_time AND v.view_time + INTERVAL '15' MINUTE;
