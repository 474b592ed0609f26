-- The ROW column has no field `zip` (it is called `zipcode`).

CREATE TABLE customers (
    customer_id  BIGINT,
    address      ROW<street STRING, city STRING, zipcode STRING>
) WITH (
    'connector' = 'datagen'
);

CREATE TABLE zips (customer_id BIGINT, zip STRING) WITH ('connector' = 'blackhole');

INSERT INTO zips
SELECT customer_id, address.zip FROM customers;
