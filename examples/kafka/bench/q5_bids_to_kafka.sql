-- The bids of the Nexmark generator into a Kafka topic keyed by auction, for the
-- scale-out benchmark (scripts/bench-scale-out.sh): the input of q5_kafka_partitioned.sql.
--   q5_bids_to_kafka --set datagen.events.num=N --set bids.topic=T \
--                    --set bids.properties.bootstrap.servers=127.0.0.1:19092
CREATE TABLE datagen (
    event_type int,
    person ROW<id BIGINT, name VARCHAR, emailAddress VARCHAR, creditCard VARCHAR, city VARCHAR,
               state VARCHAR, `dateTime` TIMESTAMP(3), extra VARCHAR>,
    auction ROW<id BIGINT, itemName VARCHAR, description VARCHAR, initialBid BIGINT, reserve BIGINT,
                `dateTime` TIMESTAMP(3), expires TIMESTAMP(3), seller BIGINT, category BIGINT, extra VARCHAR>,
    bid ROW<auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR,
            `dateTime` TIMESTAMP(3), extra VARCHAR>
) WITH (
    'connector' = 'nexmark',
    'first-event.rate' = '10000000',
    'next-event.rate' = '10000000',
    'events.num' = '2000000',
    'person.proportion' = '1',
    'auction.proportion' = '3',
    'bid.proportion' = '46'
);

CREATE TABLE bids (
    auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING,
    `dateTime` TIMESTAMP(3), extra STRING
) WITH (
    'connector' = 'kafka',
    'topic' = 'bench_bids',
    'properties.bootstrap.servers' = '127.0.0.1:19092',
    'format' = 'json',
    'key.format' = 'json',
    'key.fields' = 'auction'
);

INSERT INTO bids
SELECT bid.auction, bid.bidder, bid.price, bid.channel, bid.url, bid.`dateTime`, bid.extra
FROM datagen WHERE event_type = 2;
