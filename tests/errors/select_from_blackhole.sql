-- A blackhole table is a sink only; it cannot be read.

CREATE TABLE discard (user_id BIGINT, item_id BIGINT) WITH ('connector' = 'blackhole');

CREATE TABLE out (user_id BIGINT) WITH ('connector' = 'print');

INSERT INTO out
SELECT user_id FROM discard;
