-- A kafka option is misspelt ('scan.startup-mode' for 'scan.startup.mode').

CREATE TABLE events (
    id       BIGINT,
    payload  STRING
) WITH (
    'connector' = 'kafka',
    'topic' = 'events',
    'properties.bootstrap.servers' = 'kafka:9092',
    'scan.startup-mode' = 'earliest-offset',
    'format' = 'json'
);
