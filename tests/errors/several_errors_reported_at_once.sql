-- Four mistakes reported at once: misspelt SET key (warning), unknown connector, misspelt column, DOUBLE compared with a string.

SET 'table.exec.state.tll' = '1 h';

CREATE TABLE events (
    user_id  BIGINT,
    kind     STRING,
    amount   DOUBLE
) WITH (
    'connector' = 'kafka',
    'topic' = 'events',
    'properties.bootstrap.servers' = 'kafka:9092',
    'format' = 'json'
);

CREATE TABLE out (user_id BIGINT, kind STRING) WITH ('connector' = 'prnt');

INSERT INTO out
SELECT user_id, knd FROM events WHERE amount > 'ten';
