-- Nexmark q1 (currency conversion) over bids read from a JSON lines file.
CREATE TABLE bid (
    auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR,
    `dateTime` TIMESTAMP(3), extra VARCHAR
) WITH ('connector' = 'filesystem', 'path' = 'bids.json', 'format' = 'json');

CREATE TABLE nexmark_q1 (
  auction  BIGINT, bidder  BIGINT, price  DECIMAL(23, 3), `dateTime`  TIMESTAMP(3), extra  VARCHAR
) WITH ('connector' = 'blackhole');

INSERT INTO nexmark_q1
SELECT auction, bidder, 0.908 * price as price, `dateTime`, extra FROM bid;
