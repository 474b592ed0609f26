-- GROUPING SETS, including the grand total (), are recognised but not supported.
CREATE TABLE clicks (user_id BIGINT, url STRING) WITH ('connector' = 'datagen');
CREATE TABLE out (url STRING, n BIGINT) WITH ('connector' = 'print');
INSERT INTO out SELECT url, COUNT(*) FROM clicks GROUP BY GROUPING SETS ((url), ());
