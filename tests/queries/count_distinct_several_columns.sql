-- (pending: Flink's COUNT takes DISTINCT expression1 [, expression2]*)
-- Distinct (user, item) pairs clicked per category in one-minute windows.

CREATE TABLE clicks (
    user_id     BIGINT,
    item_id     BIGINT,
    category    STRING,
    click_time  TIMESTAMP(3),
    WATERMARK FOR click_time AS click_time - INTERVAL '5' SECOND
) WITH (
    'connector' = 'datagen'
);

CREATE TABLE pairs (category STRING, window_end TIMESTAMP(3), pairs BIGINT) WITH ('connector' = 'print');

INSERT INTO pairs
SELECT category, window_end, COUNT(DISTINCT user_id, item_id)
FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(click_time), INTERVAL '1' MINUTE))
GROUP BY category, window_start, window_end;
