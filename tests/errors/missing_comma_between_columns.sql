-- Two column definitions of a CREATE TABLE are not separated by a comma.

CREATE TABLE users (
    user_id     BIGINT
    name        STRING,
    signup_at   TIMESTAMP(3)
) WITH (
    'connector' = 'datagen'
);
