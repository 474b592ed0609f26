-- The WATERMARK is on a BIGINT epoch column; it must be on a TIMESTAMP(3)/TIMESTAMP_LTZ(3) (add a computed column).

CREATE TABLE events (
    id        BIGINT,
    epoch_ms  BIGINT,
    WATERMARK FOR epoch_ms AS epoch_ms - 5000
) WITH (
    'connector' = 'datagen'
);
