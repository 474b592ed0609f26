-- Lookup joins: each click enriched with its item from a bounded CSV table read whole when
-- the job starts (`FOR SYSTEM_TIME AS OF` the click's processing time). The key types
-- differ (INT in the stream, BIGINT in the table: compared as BIGINT). An item id with two
-- rows in the table joins both; the INNER join also requires an in-stock row. A click
-- without an item (or with a NULL item id) is dropped by the INNER join and written with
-- NULLs by the LEFT one.
CREATE TABLE clicks (
  user_id STRING,
  item_id INT,
  proc    AS PROCTIME()
) WITH ('connector' = 'filesystem', 'path' = 'input/clicks.json', 'format' = 'json');

CREATE TABLE items (
  id       BIGINT,
  category STRING,
  in_stock BOOLEAN
) WITH ('connector' = 'filesystem', 'path' = 'input/items.csv', 'format' = 'csv');

CREATE TABLE in_stock (user_id STRING, item_id INT, category STRING)
WITH ('connector' = 'filesystem', 'path' = 'out/in_stock.json', 'format' = 'json');

CREATE TABLE enriched (user_id STRING, item_id INT, category STRING)
WITH ('connector' = 'filesystem', 'path' = 'out/enriched.json', 'format' = 'json');

INSERT INTO in_stock
SELECT c.user_id, c.item_id, i.category
FROM clicks AS c
JOIN items FOR SYSTEM_TIME AS OF c.proc AS i ON c.item_id = i.id AND i.in_stock;

INSERT INTO enriched
SELECT c.user_id, c.item_id, UPPER(i.category)
FROM clicks AS c
LEFT JOIN items FOR SYSTEM_TIME AS OF c.proc AS i ON c.item_id = i.id;
