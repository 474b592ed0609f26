-- Clicks per category of a bounded generated stream, printed as an updating result.
CREATE TABLE clicks (
  user_id  BIGINT,
  category STRING
) WITH (
  'connector' = 'datagen',
  'number-of-rows' = '1000',
  'fields.user_id.min' = '1',
  'fields.user_id.max' = '20',
  'fields.category.length' = '1'
);

CREATE TABLE per_category (category STRING, clicks BIGINT) WITH ('connector' = 'print');

INSERT INTO per_category SELECT category, COUNT(*) FROM clicks GROUP BY category;
