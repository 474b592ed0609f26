-- A window aggregate feeding another (cascading windows): per-minute counts per article
-- are computed in a view, then rolled up into hourly windows on the view's window_time
-- (which stays a time attribute), keeping only articles read in at least 5 distinct
-- minutes. The view renames the window columns so they do not clash with the ones the
-- second TUMBLE adds.

CREATE TABLE reads (
    article_id  BIGINT,
    reader_id   BIGINT,
    read_at     TIMESTAMP(3),
    WATERMARK FOR read_at AS read_at - INTERVAL '1' SECOND
) WITH (
    'connector' = 'kafka',
    'topic' = 'article-reads',
    'properties.bootstrap.servers' = 'kafka:9092',
    'properties.group.id' = 'article-rollup',
    'format' = 'json'
);

CREATE VIEW reads_per_minute AS
SELECT
    article_id,
    window_start AS minute_start,
    window_end   AS minute_end,
    window_time  AS minute_time,
    COUNT(*) AS reads
FROM TABLE(TUMBLE(TABLE reads, DESCRIPTOR(read_at), INTERVAL '1' MINUTE))
GROUP BY article_id, window_start, window_end, window_time;

CREATE TABLE hourly_reads (
    article_id      BIGINT,
    hour_start      TIMESTAMP(3),
    reads           BIGINT,
    active_minutes  BIGINT,
    peak_minute     BIGINT
) WITH (
    'connector' = 'blackhole'
);

INSERT INTO hourly_reads
SELECT
    article_id,
    window_start,
    SUM(reads),
    COUNT(*),
    MAX(reads)
FROM TABLE(TUMBLE(TABLE reads_per_minute, DESCRIPTOR(minute_time), INTERVAL '1' HOUR))
GROUP BY article_id, window_start, window_end
HAVING COUNT(*) >= 5;
