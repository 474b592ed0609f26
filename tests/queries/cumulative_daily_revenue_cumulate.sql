-- Revenue of the current day so far, refreshed every 10 minutes (CUMULATE window),
-- per shop, only for shops that sold something.

CREATE TABLE purchases (
    purchase_id  STRING,
    shop_id      INT,
    price        DECIMAL(12, 2),
    quantity     INT,
    purchase_ts  BIGINT,
    -- epoch milliseconds to an event-time attribute
    ts AS TO_TIMESTAMP_LTZ(purchase_ts, 3),
    WATERMARK FOR ts AS ts - INTERVAL '2' SECOND
) WITH (
    'connector' = 'kafka',
    'topic' = 'purchases',
    'properties.bootstrap.servers' = 'kafka:9092',
    'properties.group.id' = 'daily-revenue',
    'scan.startup.mode' = 'latest-offset',
    'value.format' = 'json'
);

CREATE TABLE daily_revenue (
    shop_id       INT,
    day_start     TIMESTAMP(3),
    as_of         TIMESTAMP(3),
    revenue       DECIMAL(38, 2),
    items_sold    BIGINT,
    big_tickets   BIGINT
) WITH (
    'connector' = 'filesystem',
    'path' = 's3://analytics/daily-revenue',
    'format' = 'csv',
    'sink.rolling-policy.rollover-interval' = '15 min'
);

INSERT INTO daily_revenue
SELECT
    shop_id,
    window_start,
    window_end,
    SUM(price * quantity),
    SUM(CAST(quantity AS BIGINT)),
    COUNT(*) FILTER (WHERE price >= 500)
FROM TABLE(
    CUMULATE(TABLE purchases, DESCRIPTOR(ts), INTERVAL '10' MINUTE, INTERVAL '1' DAY))
GROUP BY shop_id, window_start, window_end
HAVING SUM(price * quantity) > 0;
