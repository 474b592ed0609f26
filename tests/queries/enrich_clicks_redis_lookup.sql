-- Enrich each click with the user's profile segment, looked up in Redis at processing
-- time (lookup join on a PROCTIME() column), for real-time personalisation.

CREATE TABLE clicks (
    user_id     BIGINT,
    item_id     BIGINT,
    url         STRING,
    click_time  TIMESTAMP(3),
    proc_time   AS PROCTIME()
) WITH (
    'connector' = 'kafka',
    'topic' = 'clicks',
    'properties.bootstrap.servers' = 'kafka:9092',
    'properties.group.id' = 'click-enrichment',
    'format' = 'json'
);

CREATE TABLE user_profiles (
    user_id      BIGINT,
    segment      STRING,
    country      STRING,
    lifetime_value DOUBLE,
    PRIMARY KEY (user_id) NOT ENFORCED
) WITH (
    'connector' = 'redis',
    'url' = 'redis://profiles-cache:6379',
    'database' = '2',
    'key' = 'profile:{user_id}',
    'data-type' = 'hash',
    'lookup.cache.max-rows' = '100000',
    'lookup.cache.ttl' = '1 min',
    'lookup.missing-key' = 'null'
);

CREATE TABLE enriched_clicks (
    user_id     BIGINT,
    item_id     BIGINT,
    segment     STRING,
    country     STRING,
    vip         BOOLEAN,
    click_time  TIMESTAMP(3)
) WITH (
    'connector' = 'kafka',
    'topic' = 'enriched-clicks',
    'properties.bootstrap.servers' = 'kafka:9092',
    'format' = 'json'
);

INSERT INTO enriched_clicks
SELECT
    c.user_id,
    c.item_id,
    COALESCE(p.segment, 'unknown'),
    p.country,
    p.lifetime_value > 1000,
    c.click_time
FROM clicks AS c
LEFT JOIN user_profiles FOR SYSTEM_TIME AS OF c.proc_time AS p
    ON c.user_id = p.user_id;
