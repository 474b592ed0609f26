-- Load test for the session pipeline: datagen fakes user activity with controlled
-- key ranges, and SESSION windows (a gap of 30 s, per user) are printed.

CREATE TABLE activity (
    user_id     INT,
    device      STRING,
    action      STRING,
    score       DOUBLE,
    event_time  AS LOCALTIMESTAMP,
    WATERMARK FOR event_time AS event_time - INTERVAL '1' SECOND
) WITH (
    'connector' = 'datagen',
    'rows-per-second' = '500',
    'fields.user_id.kind' = 'random',
    'fields.user_id.min' = '1',
    'fields.user_id.max' = '1000',
    'fields.device.length' = '8',
    'fields.action.length' = '4',
    'fields.score.min' = '0',
    'fields.score.max' = '1'
);

CREATE TABLE sessions (
    user_id        INT,
    session_start  TIMESTAMP(3),
    session_end    TIMESTAMP(3),
    actions        BIGINT,
    first_device   STRING,
    last_device    STRING,
    mean_score     DOUBLE
) WITH (
    'connector' = 'print',
    'print-identifier' = 'sessions'
);

INSERT INTO sessions
SELECT
    user_id,
    window_start,
    window_end,
    COUNT(*),
    FIRST_VALUE(device),
    LAST_VALUE(device),
    AVG(score)
FROM TABLE(
    SESSION(TABLE activity PARTITION BY user_id, DESCRIPTOR(event_time), INTERVAL '30' SECOND))
GROUP BY user_id, window_start, window_end;
