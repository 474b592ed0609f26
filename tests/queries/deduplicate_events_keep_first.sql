-- At-least-once producers resend events: keep only the first copy of each event id
-- (deduplication on event time), so downstream counters stay exact.

CREATE TABLE raw_events (
    event_id    STRING,
    user_id     BIGINT,
    event_type  STRING,
    payload     STRING,
    event_time  TIMESTAMP(3),
    WATERMARK FOR event_time AS event_time - INTERVAL '10' SECOND
) WITH (
    'connector' = 'kafka',
    'topic' = 'raw-events',
    'properties.bootstrap.servers' = 'kafka:9092',
    'properties.group.id' = 'dedup',
    'scan.startup.mode' = 'earliest-offset',
    'format' = 'json',
    'json.ignore-parse-errors' = 'true'
);

CREATE TABLE unique_events (
    event_id    STRING,
    user_id     BIGINT,
    event_type  STRING,
    payload     STRING,
    event_time  TIMESTAMP(3)
) WITH (
    'connector' = 'kafka',
    'topic' = 'unique-events',
    'properties.bootstrap.servers' = 'kafka:9092',
    'format' = 'json',
    'sink.delivery-guarantee' = 'exactly-once',
    'sink.transactional-id-prefix' = 'dedup-job'
);

INSERT INTO unique_events
SELECT event_id, user_id, event_type, payload, event_time
FROM (
    SELECT *,
        ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY event_time ASC) AS row_num
    FROM raw_events
)
WHERE row_num = 1;
