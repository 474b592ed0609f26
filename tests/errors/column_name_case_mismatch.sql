-- Column names are case-sensitive: the table declares userId, the query says userid.

CREATE TABLE visits (
    userId    BIGINT,
    pageUrl   STRING
) WITH (
    'connector' = 'datagen'
);

CREATE TABLE visit_log (user_id BIGINT, url STRING) WITH ('connector' = 'blackhole');

INSERT INTO visit_log
SELECT userid, pageUrl FROM visits;
