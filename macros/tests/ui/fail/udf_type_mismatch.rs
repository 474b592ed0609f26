pub fn count_char(s: Option<dfl::types::Str>, c: Option<dfl::types::Str>) -> Option<i64> {
    Some(s?.matches(c?.as_str()).count() as i64)
}

dfl::pipeline!(
    counted,
    r#"
    CREATE TABLE t (id BIGINT, name STRING) WITH ('connector' = 'datagen');
    CREATE TABLE o (n BIGINT) WITH ('connector' = 'print');
    CREATE FUNCTION count_char AS 'crate::count_char';
    INSERT INTO o SELECT count_char(id, 'a') FROM t;
    "#
);

fn main() {}
