-- Nexmark q1 (currency conversion) from a Kafka topic to a Kafka topic, for the Kafka
-- benchmark (scripts/bench-kafka.sh, load tool: runtime/examples/kafka_load.rs).
--
-- The bids carry `sent_at`, the load tool's send time in epoch microseconds; the query
-- passes it through unchanged so that the tool, reading the output topic, can compute the
-- end-to-end latency of every row (receive time - sent_at). Everything else is q1's shape
-- (examples/nexmark/q1.sql): the seven bid columns in, `0.908 * price` as DECIMAL out.
--
-- The topics and the broker are set on the command line by the benchmark:
--   q1_kafka --set bid.properties.bootstrap.servers=127.0.0.1:19092 \
--            --set bid.topic=IN --set out.properties.bootstrap.servers=127.0.0.1:19092 \
--            --set out.topic=OUT
CREATE TABLE bid (
    auction    BIGINT,
    bidder     BIGINT,
    price      BIGINT,
    channel    STRING,
    url        STRING,
    `dateTime` TIMESTAMP(3),
    extra      STRING,
    sent_at    BIGINT
) WITH (
    'connector' = 'kafka',
    'topic' = 'bench_bids',
    'properties.bootstrap.servers' = '127.0.0.1:19092',
    'properties.group.id' = 'dflc-bench-q1',
    'scan.startup.mode' = 'earliest-offset',
    'format' = 'json'
);

CREATE TABLE out (
    auction    BIGINT,
    bidder     BIGINT,
    price      DECIMAL(23, 3),
    `dateTime` TIMESTAMP(3),
    extra      STRING,
    sent_at    BIGINT
) WITH (
    'connector' = 'kafka',
    'topic' = 'bench_q1_out',
    'properties.bootstrap.servers' = '127.0.0.1:19092',
    'format' = 'json'
);

INSERT INTO out
SELECT auction, bidder, 0.908 * price AS price, `dateTime`, extra, sent_at
FROM bid;
