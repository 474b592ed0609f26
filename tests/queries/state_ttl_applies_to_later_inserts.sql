-- SET applies to the statements after it: the first aggregation warns about unbounded
-- state, the second (after the TTL is set) does not.
CREATE TABLE clicks (user_id BIGINT, url STRING) WITH ('connector' = 'datagen');
CREATE TABLE a (user_id BIGINT, n BIGINT) WITH ('connector' = 'print');
CREATE TABLE b (url STRING, n BIGINT) WITH ('connector' = 'print');

INSERT INTO a SELECT user_id, COUNT(*) FROM clicks GROUP BY user_id;

SET 'table.exec.state.ttl' = '30 min';

INSERT INTO b SELECT url, COUNT(*) FROM clicks GROUP BY url;
