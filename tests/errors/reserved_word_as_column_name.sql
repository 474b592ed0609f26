-- `order` is a reserved word: as a column name it must be backquoted.

CREATE TABLE shipments (
    shipment_id  STRING,
    order        STRING,
    shipped_at   TIMESTAMP(3)
) WITH (
    'connector' = 'datagen'
);
