-- The TUMBLE size must be a constant interval, not a column.

CREATE TABLE readings (
    sensor_id   STRING,
    period_sec  INT,
    reading     DOUBLE,
    ts          TIMESTAMP(3),
    WATERMARK FOR ts AS ts
) WITH (
    'connector' = 'datagen'
);

CREATE TABLE averages (sensor_id STRING, avg_reading DOUBLE) WITH ('connector' = 'blackhole');

INSERT INTO averages
SELECT sensor_id, AVG(reading)
FROM TABLE(TUMBLE(TABLE readings, DESCRIPTOR(ts), period_sec))
GROUP BY sensor_id, window_start, window_end;
