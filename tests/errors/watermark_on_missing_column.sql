-- The WATERMARK names a column the table does not have (event_ts vs event_time).

CREATE TABLE events (
    id          BIGINT,
    event_time  TIMESTAMP(3),
    WATERMARK FOR event_ts AS event_ts - INTERVAL '5' SECOND
) WITH (
    'connector' = 'datagen'
);
