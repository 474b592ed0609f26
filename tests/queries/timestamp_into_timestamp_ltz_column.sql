-- (pending: Flink casts TIMESTAMP(3) to TIMESTAMP_LTZ(3) implicitly on INSERT)
-- Trending pages: page views over a 10-minute window sliding every minute. The Kafka
-- record timestamp is the event time (METADATA column); partition and offset are kept
-- for debugging but never written back (VIRTUAL).

CREATE TABLE page_views (
    user_id      BIGINT,
    page_id      STRING,
    referrer     STRING,
    ts           TIMESTAMP_LTZ(3) METADATA FROM 'timestamp',
    `partition`  BIGINT METADATA VIRTUAL,
    `offset`     BIGINT METADATA VIRTUAL,
    WATERMARK FOR ts AS ts - INTERVAL '10' SECOND
) WITH (
    'connector' = 'kafka',
    'topic' = 'page-views',
    'properties.bootstrap.servers' = 'broker-1:9092,broker-2:9092',
    'properties.group.id' = 'trending-pages',
    'properties.auto.offset.reset' = 'latest',
    'scan.startup.mode' = 'group-offsets',
    'format' = 'json',
    'json.fail-on-missing-field' = 'false'
);

CREATE TABLE trending_pages (
    page_id      STRING,
    window_end   TIMESTAMP_LTZ(3),
    views        BIGINT,
    visitors     BIGINT,
    from_search  BIGINT
) WITH (
    'connector' = 'kafka',
    'topic' = 'trending-pages',
    'properties.bootstrap.servers' = 'broker-1:9092,broker-2:9092',
    'format' = 'json'
);

INSERT INTO trending_pages
SELECT
    page_id,
    window_end,
    COUNT(*),
    COUNT(DISTINCT user_id),
    COUNT(*) FILTER (WHERE referrer LIKE '%google.%' OR referrer LIKE '%bing.%')
FROM TABLE(
    HOP(TABLE page_views, DESCRIPTOR(ts), INTERVAL '1' MINUTE, INTERVAL '10' MINUTE))
GROUP BY page_id, window_start, window_end;
