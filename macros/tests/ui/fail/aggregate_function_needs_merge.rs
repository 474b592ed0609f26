use dfl::udfs::AggregateFunction;

#[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Longest(Option<String>);

impl AggregateFunction for Longest {
    type Input = Option<dfl::types::Str>;
    type Output = Option<dfl::types::Str>;

    fn add(&mut self, s: Self::Input) {
        if let Some(s) = s {
            if self.0.as_ref().is_none_or(|l| l.len() < s.len()) {
                self.0 = Some(s.to_string());
            }
        }
    }

    fn result(&self) -> Self::Output {
        self.0.as_deref().map(dfl::types::Str::from)
    }
}

dfl::pipeline!(
    sessions,
    r#"
    CREATE TABLE t (u BIGINT, name STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'datagen');
    CREATE TABLE o (u BIGINT, longest STRING) WITH ('connector' = 'print');
    CREATE FUNCTION longest AS 'crate::Longest';
    INSERT INTO o SELECT u, longest(name)
    FROM TABLE(SESSION(TABLE t PARTITION BY u, DESCRIPTOR(ts), INTERVAL '5' SECOND))
    GROUP BY u, window_start, window_end;
    "#
);

dfl::pipeline!(
    updating,
    r#"
    CREATE TABLE t (u BIGINT, name STRING) WITH ('connector' = 'datagen');
    CREATE TABLE o (n BIGINT, longest STRING) WITH ('connector' = 'print');
    CREATE FUNCTION longest AS 'crate::Longest';
    INSERT INTO o SELECT n, longest(name) FROM (SELECT u, COUNT(*) AS n, MAX(name) AS name FROM t GROUP BY u) GROUP BY n;
    "#
);

fn main() {}
