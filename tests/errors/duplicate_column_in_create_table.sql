-- A column is declared twice in one CREATE TABLE.

CREATE TABLE orders (
    order_id    STRING,
    user_id     BIGINT,
    amount      DOUBLE,
    user_id     BIGINT
) WITH (
    'connector' = 'datagen'
);
