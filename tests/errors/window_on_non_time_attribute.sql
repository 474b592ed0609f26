-- TUMBLE over a TIMESTAMP column that has no WATERMARK (not a time attribute).

CREATE TABLE orders (
    order_id    STRING,
    amount      DOUBLE,
    created_at  TIMESTAMP(3)
) WITH (
    'connector' = 'datagen'
);

CREATE TABLE revenue (window_start TIMESTAMP(3), total DOUBLE) WITH ('connector' = 'blackhole');

INSERT INTO revenue
SELECT window_start, SUM(amount)
FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(created_at), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end;
