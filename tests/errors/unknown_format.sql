-- The format name is misspelt ('jsn' for 'json').

CREATE TABLE events (
    id       BIGINT,
    payload  STRING
) WITH (
    'connector' = 'filesystem',
    'path' = 'file:///data/events',
    'format' = 'jsn'
);
