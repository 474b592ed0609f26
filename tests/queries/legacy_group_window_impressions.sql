-- Ad impressions per campaign every 5 minutes, written with the legacy GROUP BY TUMBLE
-- syntax that many existing Flink jobs still use.

CREATE TABLE impressions (
    impression_id  STRING,
    campaign_id    INT,
    user_id        BIGINT,
    cost_micros    BIGINT,
    shown_at       TIMESTAMP(3),
    WATERMARK FOR shown_at AS shown_at - INTERVAL '3' SECOND
) WITH (
    'connector' = 'kafka',
    'topic' = 'ad-impressions',
    'properties.bootstrap.servers' = 'kafka:9092',
    'properties.group.id' = 'impressions-5m',
    'format' = 'json'
);

CREATE TABLE campaign_stats (
    campaign_id    INT,
    window_start   TIMESTAMP(3),
    window_end     TIMESTAMP(3),
    impressions    BIGINT,
    reach          BIGINT,
    spend_micros   BIGINT
) WITH (
    'connector' = 'kafka',
    'topic' = 'campaign-stats',
    'properties.bootstrap.servers' = 'kafka:9092',
    'format' = 'json'
);

INSERT INTO campaign_stats
SELECT
    campaign_id,
    TUMBLE_START(shown_at, INTERVAL '5' MINUTE),
    TUMBLE_END(shown_at, INTERVAL '5' MINUTE),
    COUNT(impression_id),
    COUNT(DISTINCT user_id),
    SUM(cost_micros)
FROM impressions
GROUP BY campaign_id, TUMBLE(shown_at, INTERVAL '5' MINUTE);
