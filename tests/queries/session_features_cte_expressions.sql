-- Cleans raw user-agent events into features for personalisation, exercising the
-- scalar functions a typical pipeline uses, organised with CTEs (WITH).

CREATE TABLE ua_events (
    user_id     STRING,
    url         STRING,
    user_agent  STRING,
    tags        STRING,          -- comma-separated, e.g. 'sale,shoes,summer'
    price_text  STRING,          -- free text from the page, may not be a number
    attrs       MAP<STRING, STRING>,
    geo         ROW<country STRING, city STRING, lat DOUBLE, lon DOUBLE>,
    scores      ARRAY<DOUBLE>,
    event_time  TIMESTAMP(3),
    WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND
) WITH (
    'connector' = 'kafka',
    'topic' = 'ua-events',
    'properties.bootstrap.servers' = 'kafka:9092',
    'properties.group.id' = 'ua-features',
    'format' = 'json'
);

CREATE TABLE ua_features (
    user_id        STRING,
    domain         STRING,
    first_tag      STRING,
    device         STRING,
    price          DECIMAL(10, 2),
    country        STRING,
    campaign       STRING,
    top_score      DOUBLE,
    day            STRING,
    hour_of_day    BIGINT,
    hour_bucket    TIMESTAMP(3),
    is_weekend     BOOLEAN,
    context        ROW<country STRING, hour BIGINT>,
    tag_list       ARRAY<STRING>,
    labels         MAP<STRING, STRING>
) WITH (
    'connector' = 'kafka',
    'topic' = 'ua-features',
    'properties.bootstrap.servers' = 'kafka:9092',
    'format' = 'json'
);

INSERT INTO ua_features
WITH cleaned AS (
    SELECT
        LOWER(TRIM(user_id))                                       AS user_id,
        REGEXP_EXTRACT(url, '^https?://([^/]+)', 1)                AS domain,
        SPLIT_INDEX(tags, ',', 0)                                  AS first_tag,
        CASE
            WHEN user_agent LIKE '%iPhone%' OR user_agent LIKE '%Android%' THEN 'mobile'
            WHEN POSITION('Tablet' IN user_agent) > 0 THEN 'tablet'
            ELSE 'desktop'
        END                                                        AS device,
        TRY_CAST(REPLACE(price_text, ',', '.') AS DECIMAL(10, 2))  AS price,
        COALESCE(geo.country, 'ZZ')                                AS country,
        attrs['utm_campaign']                                      AS campaign,
        scores[1]                                                  AS top_score,
        event_time
    FROM ua_events
    WHERE user_id IS NOT NULL AND CHAR_LENGTH(url) > 0
),
timed AS (
    SELECT
        *,
        DATE_FORMAT(event_time, 'yyyy-MM-dd')   AS day,
        EXTRACT(HOUR FROM event_time)           AS hour_of_day,
        FLOOR(event_time TO HOUR)               AS hour_bucket,
        DAYOFWEEK(CAST(event_time AS DATE))     AS dow
    FROM cleaned
)
SELECT
    user_id,
    UPPER(SUBSTRING(domain FROM 1 FOR 64)),
    IF(first_tag = '', CAST(NULL AS STRING), first_tag),
    device,
    price,
    country,
    campaign,
    top_score,
    day,
    hour_of_day,
    hour_bucket,
    dow IN (1, 7),
    ROW(country, hour_of_day),
    ARRAY[device, country, CONCAT_WS('-', device, country)],
    MAP['device', device, 'day', day]
FROM timed;
