-- ORDER BY a column the query does not select: Flink allows it, dflc does not yet (DFL0005).
-- The 10 most expensive products seen so far (a global Top-N), ordered by a column that
-- is not in the SELECT list.

CREATE TABLE products (
    product_id  BIGINT,
    name        STRING,
    price       DECIMAL(10, 2)
) WITH (
    'connector' = 'datagen'
);

CREATE TABLE priciest (product_id BIGINT, name STRING) WITH ('connector' = 'print');

INSERT INTO priciest
SELECT p.product_id, p.name
FROM products AS p
ORDER BY p.price DESC
LIMIT 10;
