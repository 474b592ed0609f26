-- Clicks per product category in one-minute tumbling windows, read from JSON files
-- dropped into a directory, written to Kafka for the recommendation service.

CREATE TABLE clicks (
    user_id     BIGINT,
    item_id     BIGINT,
    category    STRING,
    page        STRING,
    dwell_ms    INT,
    click_time  TIMESTAMP(3),
    WATERMARK FOR click_time AS click_time - INTERVAL '5' SECOND
) WITH (
    'connector' = 'filesystem',
    'path' = 'file:///data/clicks',
    'format' = 'json',
    'json.ignore-parse-errors' = 'true',
    'source.monitor-interval' = '10 s'
);

CREATE TABLE category_clicks (
    category      STRING,
    window_start  TIMESTAMP(3),
    window_end    TIMESTAMP(3),
    clicks        BIGINT,
    users         BIGINT,
    long_views    BIGINT,
    avg_dwell_ms  INT,
    max_dwell_ms  INT
) WITH (
    'connector' = 'kafka',
    'topic' = 'category-clicks',
    'properties.bootstrap.servers' = 'kafka:9092',
    'properties.client.id' = 'dflc-category-clicks',
    'format' = 'json',
    'sink.delivery-guarantee' = 'at-least-once'
);

INSERT INTO category_clicks
SELECT
    category,
    window_start,
    window_end,
    COUNT(*)                                    AS clicks,
    COUNT(DISTINCT user_id)                     AS users,
    COUNT(*) FILTER (WHERE dwell_ms > 30000)    AS long_views,
    AVG(dwell_ms)                               AS avg_dwell_ms,
    MAX(dwell_ms)                               AS max_dwell_ms
FROM TABLE(
    TUMBLE(TABLE clicks, DESCRIPTOR(click_time), INTERVAL '1' MINUTE))
WHERE category IS NOT NULL
GROUP BY category, window_start, window_end
HAVING COUNT(*) >= 10;
