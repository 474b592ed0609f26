-- (pending: a window Top-N is append-only in Flink, so it may feed a kafka sink)
-- Hourly "creators to follow" shelf: the 5 creators whose videos were watched longest
-- in each hour (window Top-N: ROW_NUMBER partitioned by the window), read from a
-- datagen source in this self-contained demo.

CREATE TABLE watches (
    viewer_id    BIGINT,
    creator_id   INT,
    watched_sec  INT,
    completed    BOOLEAN,
    watched_at   TIMESTAMP(3),
    WATERMARK FOR watched_at AS watched_at - INTERVAL '5' SECOND
) WITH (
    'connector' = 'datagen',
    'rows-per-second' = '1000',
    'fields.creator_id.min' = '1',
    'fields.creator_id.max' = '200',
    'fields.watched_sec.min' = '1',
    'fields.watched_sec.max' = '3600',
    'fields.watched_at.max-past' = '5000'
);

CREATE TABLE creators_to_follow (
    window_start   TIMESTAMP(3),
    window_end     TIMESTAMP(3),
    creator_id     INT,
    watch_seconds  BIGINT,
    completion     DOUBLE,
    ranking        BIGINT
) WITH (
    'connector' = 'kafka',
    'topic' = 'creators-to-follow',
    'properties.bootstrap.servers' = 'kafka:9092',
    'format' = 'json'
);

INSERT INTO creators_to_follow
SELECT window_start, window_end, creator_id, watch_seconds, completion, ranking
FROM (
    SELECT *,
        ROW_NUMBER() OVER (
            PARTITION BY window_start, window_end
            ORDER BY watch_seconds DESC) AS ranking
    FROM (
        SELECT
            window_start,
            window_end,
            creator_id,
            SUM(CAST(watched_sec AS BIGINT))                      AS watch_seconds,
            AVG(CASE WHEN completed THEN 1.0 ELSE 0.0 END)        AS completion
        FROM TABLE(TUMBLE(TABLE watches, DESCRIPTOR(watched_at), INTERVAL '1' HOUR))
        GROUP BY window_start, window_end, creator_id
    )
)
WHERE ranking <= 5;
