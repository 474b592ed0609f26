pub fn twice(x: i64) -> i64 {
    2 * x
}

dfl::pipeline!(
    doubled,
    r#"
    CREATE TABLE t (id BIGINT) WITH ('connector' = 'datagen');
    CREATE TABLE o (n BIGINT) WITH ('connector' = 'print');
    CREATE FUNCTION twice AS 'crate::twice';
    CREATE FUNCTION gone AS 'crate::gone';
    INSERT INTO o SELECT twice(id) + gone(id) FROM t;
    "#
);

fn main() {}
