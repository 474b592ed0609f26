-- One interaction stream for the recommender, merged from the web and mobile topics
-- (UNION ALL) with a common schema and a weight per interaction type.

CREATE TABLE web_events (
    visitor_id  BIGINT,
    item_id     BIGINT,
    kind        STRING,
    ts          TIMESTAMP(3),
    WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (
    'connector' = 'kafka',
    'topic' = 'web-events',
    'properties.bootstrap.servers' = 'kafka:9092',
    'properties.group.id' = 'interactions',
    'format' = 'json'
);

CREATE TABLE app_events (
    account_id  BIGINT,
    item_id     INT,
    action      STRING,
    epoch_ms    BIGINT,
    ts AS TO_TIMESTAMP(FROM_UNIXTIME(epoch_ms / 1000)),
    WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (
    'connector' = 'kafka',
    'topic' = 'app-events',
    'properties.bootstrap.servers' = 'kafka:9092',
    'properties.group.id' = 'interactions',
    'format' = 'csv',
    'csv.field-delimiter' = ';'
);

CREATE TABLE interactions (
    user_id   BIGINT,
    item_id   BIGINT,
    channel   STRING,
    weight    DOUBLE,
    ts        TIMESTAMP(3)
) WITH (
    'connector' = 'kafka',
    'topic' = 'interactions',
    'properties.bootstrap.servers' = 'kafka:9092',
    'format' = 'json'
);

INSERT INTO interactions
SELECT visitor_id, item_id, 'web',
       CASE kind WHEN 'purchase' THEN 5.0 WHEN 'cart' THEN 2.0 ELSE 1.0 END,
       ts
FROM web_events
WHERE kind IN ('view', 'cart', 'purchase')
UNION ALL
SELECT account_id, CAST(item_id AS BIGINT), 'app',
       CASE WHEN action = 'buy' THEN 5.0 WHEN action = 'save' THEN 2.0 ELSE 1.0 END,
       ts
FROM app_events;
