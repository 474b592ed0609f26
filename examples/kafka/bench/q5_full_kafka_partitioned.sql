-- Nexmark q5 whole (hot items: the auctions with the most bids per 10 s window sliding
-- every 2 s) over a Kafka topic keyed by auction, its state kept per partition so that
-- several processes share the consumer group (docs/scaling.md), for
-- scripts/bench-scale-out.sh. It runs in two stages: the counts per auction per partition
-- of the topic, the greatest count per window and the join on the window per partition
-- of the stage topic. Each process is started with its own state.checkpoints.dir and the
-- shared scale-out.state.dir.
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
    'properties.group.id' = 'dflc-bench-q5-full',
    'properties.auto.offset.reset' = 'earliest',
    'scan.bounded.mode' = 'latest-offset',
    'format' = 'json',
    'key.format' = 'json',
    'key.fields' = 'auction'
);

CREATE TABLE hot_items (auction BIGINT, num BIGINT)
WITH ('connector' = 'blackhole');

INSERT INTO hot_items
SELECT AuctionBids.auction, AuctionBids.num
 FROM (
   SELECT
     auction,
     count(*) AS num,
     window_start AS starttime,
     window_end AS endtime
     FROM TABLE(
             HOP(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
     GROUP BY auction, window_start, window_end
 ) AS AuctionBids
 JOIN (
   SELECT
     max(CountBids.num) AS maxn,
     CountBids.starttime,
     CountBids.endtime
   FROM (
     SELECT
       count(*) AS num,
       window_start AS starttime,
       window_end AS endtime
     FROM TABLE(
                HOP(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
     GROUP BY auction, window_start, window_end
     ) AS CountBids
   GROUP BY CountBids.starttime, CountBids.endtime
 ) AS MaxBids
 ON AuctionBids.starttime = MaxBids.starttime AND
    AuctionBids.endtime = MaxBids.endtime AND
    AuctionBids.num >= MaxBids.maxn;
