-- ROW_NUMBER on a stream is only supported as Top-N / deduplication: filter on the rank.
CREATE TABLE clicks (user_id BIGINT, url STRING, price INT) WITH ('connector' = 'datagen');
CREATE TABLE out (user_id BIGINT, url STRING, rn BIGINT) WITH ('connector' = 'print');
INSERT INTO out
SELECT user_id, url, ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY price DESC) AS rn
FROM clicks;
