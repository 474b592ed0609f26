-- 'rows-per-second' must be a number, not 'fast'.

CREATE TABLE fake_clicks (
    user_id  BIGINT,
    item_id  BIGINT
) WITH (
    'connector' = 'datagen',
    'rows-per-second' = 'fast'
);
