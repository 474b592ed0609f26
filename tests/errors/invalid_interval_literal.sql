-- An interval literal whose value is not a number.

CREATE TABLE events (
    id  BIGINT,
    ts  TIMESTAMP(3),
    WATERMARK FOR ts AS ts - INTERVAL 'five' SECOND
) WITH (
    'connector' = 'datagen'
);
