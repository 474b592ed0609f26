-- A parallelism beyond the 128 key groups tasks are spread over.

SET 'parallelism.default' = '256';

CREATE TABLE clicks (user_id BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH ('connector' = 'datagen');
CREATE TABLE counts (user_id BIGINT, n BIGINT) WITH ('connector' = 'blackhole');

INSERT INTO counts
SELECT user_id, COUNT(*) FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY user_id, window_start, window_end;
