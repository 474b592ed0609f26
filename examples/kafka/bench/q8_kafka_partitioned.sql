-- Nexmark q8 (new users who opened auctions: a window join of persons and auctions on the
-- seller) over two Kafka topics not keyed by it: with its state per partition, both are
-- repartitioned by the join key through the pipeline's shuffle topic, so that several
-- processes share the work (docs/scaling.md), for scripts/bench-join-scale-out.sh. Each
-- process is started with its own state.checkpoints.dir and the shared scale-out.state.dir.
SET 'scale-out.mode' = 'partition';
SET 'execution.checkpointing.interval' = '10 s';

CREATE TABLE person (
    id BIGINT, name STRING, city STRING, state STRING, `dateTime` TIMESTAMP(3),
    WATERMARK FOR `dateTime` AS `dateTime` - INTERVAL '4' SECOND
) WITH (
    'connector' = 'kafka',
    'topic' = 'bench_persons',
    'properties.bootstrap.servers' = '127.0.0.1:19092',
    'properties.group.id' = 'dflc-bench-q8',
    'properties.auto.offset.reset' = 'earliest',
    'scan.bounded.mode' = 'latest-offset',
    'format' = 'json'
);

CREATE TABLE auction (
    id BIGINT, seller BIGINT, category BIGINT, `dateTime` TIMESTAMP(3),
    WATERMARK FOR `dateTime` AS `dateTime` - INTERVAL '4' SECOND
) WITH (
    'connector' = 'kafka',
    'topic' = 'bench_auctions',
    'properties.bootstrap.servers' = '127.0.0.1:19092',
    'properties.group.id' = 'dflc-bench-q8',
    'properties.auto.offset.reset' = 'earliest',
    'scan.bounded.mode' = 'latest-offset',
    'format' = 'json'
);

CREATE TABLE nexmark_q8 (id BIGINT, name STRING, stime TIMESTAMP(3)) WITH ('connector' = 'blackhole');

INSERT INTO nexmark_q8
SELECT P.id, P.name, P.starttime
FROM (
  SELECT id, name, window_start AS starttime, window_end AS endtime
  FROM TABLE(TUMBLE(TABLE person, DESCRIPTOR(`dateTime`), INTERVAL '10' SECOND))
  GROUP BY id, name, window_start, window_end
) P
JOIN (
  SELECT seller, window_start AS starttime, window_end AS endtime
  FROM TABLE(TUMBLE(TABLE auction, DESCRIPTOR(`dateTime`), INTERVAL '10' SECOND))
  GROUP BY seller, window_start, window_end
) A
ON P.id = A.seller AND P.starttime = A.starttime AND P.endtime = A.endtime;
