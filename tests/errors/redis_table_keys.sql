-- Redis tables are stored by key: a 'key' template naming a column the table lacks, a
-- table with neither PRIMARY KEY nor template, and a 'raw' value of two columns.

CREATE TABLE profiles (
    user_id BIGINT,
    clicks  BIGINT
) WITH (
    'connector' = 'redis',
    'url' = 'redis://127.0.0.1:6379',
    'key' = 'profile:{userid}'
);

CREATE TABLE no_key (
    user_id BIGINT,
    clicks  BIGINT
) WITH (
    'connector' = 'redis',
    'url' = 'redis://127.0.0.1:6379'
);

CREATE TABLE raw_values (
    user_id BIGINT,
    clicks  BIGINT,
    spent   DOUBLE,
    PRIMARY KEY (user_id) NOT ENFORCED
) WITH (
    'connector' = 'redis',
    'url' = 'redis://127.0.0.1:6379',
    'data-type' = 'string',
    'value.format' = 'raw'
);
