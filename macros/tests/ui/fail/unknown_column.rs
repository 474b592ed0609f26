dfl::pipeline!(
    copy,
    r#"
    CREATE TABLE t (id BIGINT, name STRING) WITH ('connector' = 'datagen');
    CREATE TABLE o (id BIGINT) WITH ('connector' = 'print');
    INSERT INTO o SELECT idd FROM t;
    "#
);

fn main() {}
