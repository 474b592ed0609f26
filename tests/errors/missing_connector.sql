-- The WITH clause has no 'connector' option.

CREATE TABLE events (
    id       BIGINT,
    payload  STRING
) WITH (
    'topic' = 'events',
    'properties.bootstrap.servers' = 'kafka:9092',
    'format' = 'json'
);
