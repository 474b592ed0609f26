-- A backquoted identifier is never closed.

CREATE TABLE events (
    `user id   BIGINT,
    payload    STRING
) WITH (
    'connector' = 'datagen'
);
