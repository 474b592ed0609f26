-- INSERT OVERWRITE replaces a table: a batch idea with no meaning on a stream.
CREATE TABLE clicks (user_id BIGINT, url STRING) WITH ('connector' = 'datagen');
CREATE TABLE out (user_id BIGINT, url STRING) WITH ('connector' = 'print');
INSERT OVERWRITE out SELECT user_id, url FROM clicks;
