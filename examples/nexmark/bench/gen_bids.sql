-- Writes the bids of the seeded Nexmark generator to JSON lines, as input for the
-- file-based benchmarks (q1_file.sql, q2_file.sql). `--set datagen.events.num=N`.
CREATE TABLE datagen (
    event_type int,
    bid ROW<auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR,
            `dateTime` TIMESTAMP(3), extra VARCHAR>
) WITH (
    'connector' = 'nexmark',
    'events.num' = '10000000',
    'seed' = '7'
);

CREATE TABLE bids (
    auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR,
    `dateTime` TIMESTAMP(3), extra VARCHAR
) WITH ('connector' = 'filesystem', 'path' = 'bids.json', 'format' = 'json');

INSERT INTO bids
SELECT bid.auction, bid.bidder, bid.price, bid.channel, bid.url, bid.`dateTime`, bid.extra
FROM datagen WHERE event_type = 2;
