-- A BOOLEAN cannot be CAST to DATE.

CREATE TABLE flags (
    user_id   BIGINT,
    opted_in  BOOLEAN
) WITH (
    'connector' = 'datagen'
);

CREATE TABLE opt_ins (user_id BIGINT, since DATE) WITH ('connector' = 'blackhole');

INSERT INTO opt_ins
SELECT user_id, CAST(opted_in AS DATE) FROM flags;
