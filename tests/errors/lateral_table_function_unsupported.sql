-- LATERAL TABLE (a table function) is not supported.

CREATE TABLE posts (
    post_id  BIGINT,
    tags     STRING
) WITH (
    'connector' = 'datagen'
);

CREATE TABLE post_tags (post_id BIGINT, tag STRING) WITH ('connector' = 'blackhole');

INSERT INTO post_tags
SELECT p.post_id, t.tag
FROM posts AS p, LATERAL TABLE(split_tags(p.tags)) AS t(tag);
