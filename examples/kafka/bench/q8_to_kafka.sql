-- The persons and auctions of the Nexmark generator into two Kafka topics, not keyed by
-- anything (each record to a partition of the producer's choosing), for the join scale-out
-- benchmark (scripts/bench-join-scale-out.sh): the input of q8_kafka_partitioned.sql.
--   q8_to_kafka --set datagen.events.num=N --set persons.topic=P --set auctions.topic=A \
--               --set persons.properties.bootstrap.servers=127.0.0.1:19092 \
--               --set auctions.properties.bootstrap.servers=127.0.0.1:19092
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

CREATE TABLE persons (id BIGINT, name STRING, city STRING, state STRING, `dateTime` TIMESTAMP(3)) WITH (
    'connector' = 'kafka',
    'topic' = 'bench_persons',
    'properties.bootstrap.servers' = '127.0.0.1:19092',
    'format' = 'json',
    'sink.partitioner' = 'round-robin'
);

CREATE TABLE auctions (id BIGINT, seller BIGINT, category BIGINT, `dateTime` TIMESTAMP(3)) WITH (
    'connector' = 'kafka',
    'topic' = 'bench_auctions',
    'properties.bootstrap.servers' = '127.0.0.1:19092',
    'format' = 'json',
    'sink.partitioner' = 'round-robin'
);

EXECUTE STATEMENT SET BEGIN
INSERT INTO persons
SELECT person.id, person.name, person.city, person.state, person.`dateTime` FROM datagen WHERE event_type = 0;
INSERT INTO auctions
SELECT auction.id, auction.seller, auction.category, auction.`dateTime` FROM datagen WHERE event_type = 1;
END;
