-- Nexmark q5's keyed stage (bids per auction over 10 s windows sliding every 2 s) over a
-- Kafka topic keyed by auction, its state kept per partition so that several processes
-- share the consumer group (docs/scaling.md), for scripts/bench-scale-out.sh. Each process
-- is started with its own state.checkpoints.dir and the shared scale-out.state.dir.
SET 'scale-out.mode' = 'partition';
SET 'execution.checkpointing.interval' = '10 s';

CREATE TABLE bid (
    auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING,
    `dateTime` TIMESTAMP(3), extra STRING,
    WATERMARK FOR `dateTime` AS `dateTime` - INTERVAL '4' SECOND
) WITH (
    'connector' = 'kafka',
    'topic' = 'bench_bids',
    'properties.bootstrap.servers' = '127.0.0.1:19092',
    'properties.group.id' = 'dflc-bench-q5',
    'properties.auto.offset.reset' = 'earliest',
    'scan.bounded.mode' = 'latest-offset',
    'format' = 'json',
    'key.format' = 'json',
    'key.fields' = 'auction'
);

CREATE TABLE hot_items (auction BIGINT, num BIGINT, starttime TIMESTAMP(3), endtime TIMESTAMP(3))
WITH ('connector' = 'blackhole');

INSERT INTO hot_items
SELECT auction, COUNT(*) AS num, window_start, window_end
FROM TABLE(HOP(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
GROUP BY auction, window_start, window_end;
