-- The connector name is misspelt ('kafak').

CREATE TABLE events (
    id       BIGINT,
    payload  STRING
) WITH (
    'connector' = 'kafak',
    'topic' = 'events',
    'properties.bootstrap.servers' = 'kafka:9092',
    'format' = 'json'
);
