-- Online features for a ranking model: for every transaction, the user's average and
-- largest amount over their last 10 transactions and the count over the last hour
-- (OVER aggregates ordered by event time).

CREATE TABLE transactions (
    txn_id      STRING,
    user_id     BIGINT,
    merchant    STRING,
    amount      DOUBLE,
    txn_time    TIMESTAMP(3),
    WATERMARK FOR txn_time AS txn_time - INTERVAL '2' SECOND
) WITH (
    'connector' = 'kafka',
    'topic' = 'transactions',
    'properties.bootstrap.servers' = 'kafka:9092',
    'properties.group.id' = 'user-features',
    'format' = 'json'
);

CREATE TABLE user_features (
    txn_id          STRING,
    user_id         BIGINT,
    amount          DOUBLE,
    avg_last_10     DOUBLE,
    max_last_10     DOUBLE,
    txns_last_hour  BIGINT,
    amount_vs_avg   DOUBLE
) WITH (
    'connector' = 'kafka',
    'topic' = 'user-features',
    'properties.bootstrap.servers' = 'kafka:9092',
    'format' = 'json'
);

INSERT INTO user_features
SELECT
    txn_id,
    user_id,
    amount,
    avg_last_10,
    max_last_10,
    txns_last_hour,
    amount / NULLIF(avg_last_10, 0)
FROM (
    SELECT
        txn_id,
        user_id,
        amount,
        AVG(amount) OVER (
            PARTITION BY user_id ORDER BY txn_time
            ROWS BETWEEN 9 PRECEDING AND CURRENT ROW) AS avg_last_10,
        MAX(amount) OVER (
            PARTITION BY user_id ORDER BY txn_time
            ROWS BETWEEN 9 PRECEDING AND CURRENT ROW) AS max_last_10,
        COUNT(*) OVER (
            PARTITION BY user_id ORDER BY txn_time
            RANGE BETWEEN INTERVAL '1' HOUR PRECEDING AND CURRENT ROW) AS txns_last_hour
    FROM transactions
);
