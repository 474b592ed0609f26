//! A Rust aggregate function defined in the target's own file, in a sliding window and
//! over an updating input (it retracts and merges).
use dfl::changelog::Change;
use dfl::udfs::AggregateFunction;

#[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Product {
    product: i64,
    zeros: i64,
}

impl AggregateFunction for Product {
    type Input = Option<i64>;
    type Output = Option<i64>;

    fn add(&mut self, x: Option<i64>) {
        match x {
            Some(0) => self.zeros += 1,
            Some(x) => self.product = if self.product == 0 { x } else { self.product * x },
            None => {}
        }
    }

    fn retract(&mut self, x: Option<i64>) {
        match x {
            Some(0) => self.zeros -= 1,
            Some(x) => self.product /= x,
            None => {}
        }
    }

    fn merge(&mut self, other: &Self) {
        self.zeros += other.zeros;
        if other.product != 0 {
            self.product = if self.product == 0 { other.product } else { self.product * other.product };
        }
    }

    fn result(&self) -> Option<i64> {
        (self.product != 0 || self.zeros > 0).then(|| if self.zeros > 0 { 0 } else { self.product })
    }
}

dfl::pipeline!(
    products,
    r#"
    CREATE TABLE nums (k STRING, x INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'rust');
    CREATE TABLE windowed (k STRING, window_start TIMESTAMP(3), p BIGINT) WITH ('connector' = 'rust');
    CREATE FUNCTION product AS 'crate::Product';
    INSERT INTO windowed
    SELECT k, window_start, product(x)
    FROM TABLE(HOP(TABLE nums, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '2' SECOND))
    GROUP BY k, window_start, window_end;
    "#
);

fn main() {
    let ts = |s: i64| Some(dfl::types::Timestamp::from_millis(s * 1000));
    let row = |k: &str, x: i32, s: i64| products::T_nums { k: Some(k.into()), x: Some(x), ts: ts(s) };
    let rows = vec![row("a", 2, 0), row("a", 3, 1), row("b", 5, 1), row("a", 7, 2), row("b", 0, 3)];
    let (tx, changes) = std::sync::mpsc::channel::<Change<products::W_windowed>>();
    products::pipeline().feed_nums(rows).collect_windowed(tx).run().expect("runs");
    let mut got: Vec<(String, i64, i64)> = changes
        .try_iter()
        .map(|c| (c.row.k.unwrap().to_string(), c.row.window_start.unwrap().millis() / 1000, c.row.p.unwrap()))
        .collect();
    got.sort();
    // Windows of 2 s every 1 s: [-1, 1), [0, 2), [1, 3), [2, 4), [3, 5).
    let expected = [
        ("a", -1, 2),
        ("a", 0, 6),
        ("a", 1, 21),
        ("a", 2, 7),
        ("b", 0, 5),
        ("b", 1, 5),
        ("b", 2, 0),
        ("b", 3, 0),
    ];
    let expected: Vec<(String, i64, i64)> = expected.iter().map(|(k, s, p)| (k.to_string(), *s, *p)).collect();
    assert_eq!(got, expected);
}
