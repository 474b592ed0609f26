-- A kafka table without 'properties.bootstrap.servers'.

CREATE TABLE events (
    id       BIGINT,
    payload  STRING
) WITH (
    'connector' = 'kafka',
    'topic' = 'events',
    'format' = 'json'
);
