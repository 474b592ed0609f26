-- fields.<column>.* options must name a column of the table.
CREATE TABLE clicks (
  user_id BIGINT,
  url     STRING
) WITH (
  'connector' = 'datagen',
  'fields.userid.min' = '1'
);
