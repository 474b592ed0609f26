-- INT and BIGINT have a fixed size (MySQL's INT(11) is not Flink SQL); TIME has no local time zone.
CREATE TABLE t (
  id   BIGINT(20),
  n    INT(11),
  t    TIME WITH LOCAL TIME ZONE
) WITH ('connector' = 'datagen');
