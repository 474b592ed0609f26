-- Top 3 best-selling products per category over the whole stream (ROW_NUMBER Top-N),
-- upserted into a table the "popular now" carousel reads.

CREATE TABLE sales (
    product_id  BIGINT,
    category    STRING,
    units       INT,
    sold_at     TIMESTAMP(3)
) WITH (
    'connector' = 'kafka',
    'topic' = 'sales',
    'properties.bootstrap.servers' = 'kafka:9092',
    'properties.group.id' = 'top-products',
    'format' = 'json'
);

CREATE TABLE top_products (
    category    STRING,
    rn          BIGINT,
    product_id  BIGINT,
    units_sold  BIGINT,
    PRIMARY KEY (category, rn) NOT ENFORCED
) WITH (
    'connector' = 'upsert-kafka',
    'topic' = 'top-products',
    'properties.bootstrap.servers' = 'kafka:9092',
    'key.format' = 'json',
    'value.format' = 'json'
);

INSERT INTO top_products
SELECT category, rn, product_id, units_sold
FROM (
    SELECT
        category,
        product_id,
        units_sold,
        ROW_NUMBER() OVER (PARTITION BY category ORDER BY units_sold DESC) AS rn
    FROM (
        SELECT category, product_id, SUM(CAST(units AS BIGINT)) AS units_sold
        FROM sales
        GROUP BY category, product_id
    )
)
WHERE rn <= 3;
