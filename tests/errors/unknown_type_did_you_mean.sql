-- A column type is misspelt (STIRNG for STRING).

CREATE TABLE profiles (
    user_id   BIGINT,
    nickname  STIRNG
) WITH (
    'connector' = 'datagen'
);
