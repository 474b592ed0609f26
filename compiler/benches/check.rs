//! `cargo bench -p dfl-compiler --bench check`: how long `check` takes on a 1,000-line
//! file of realistic statements (tables, views, windowed aggregates, joins). The target
//! is well under 100 ms; this prints the numbers, it asserts nothing about time.

use dfl_compiler::{SourceFile, check};
use std::time::{Duration, Instant};

/// One block of about 25 lines; `{n}` makes its names unique.
const BLOCK: &str = "
CREATE TABLE clicks_{n} (
  user_id BIGINT NOT NULL,
  item_id BIGINT,
  category STRING,
  price DECIMAL(10, 2),
  ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'datagen', 'rows-per-second' = '1000', 'fields.user_id.min' = '1');
CREATE VIEW recent_{n} AS
  SELECT user_id, category, price, ts FROM clicks_{n} WHERE price > 0 AND category IS NOT NULL;
CREATE TABLE features_{n} (
  user_id BIGINT, category STRING, clicks BIGINT, spend DECIMAL(38, 2),
  window_start TIMESTAMP(3), window_end TIMESTAMP(3)
) WITH ('connector' = 'print');
INSERT INTO features_{n}
SELECT user_id, UPPER(category), COUNT(*), SUM(price), window_start, window_end
FROM TABLE(TUMBLE(TABLE recent_{n}, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
WHERE user_id % 10 <> 3
GROUP BY user_id, UPPER(category), window_start, window_end
HAVING COUNT(*) > 1;
";

fn main() {
    let blocks = 48;
    let text: String = (0..blocks).map(|n| BLOCK.replace("{n}", &n.to_string())).collect();
    let lines = text.lines().count();
    let source = SourceFile::new("bench.sql", text);
    let checked = check(&source);
    assert!(!checked.diagnostics.has_errors(), "benchmark input must be valid: {:?}", checked.diagnostics);
    // Warm up, then measure.
    for _ in 0..3 {
        check(&source);
    }
    let runs = 30;
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(check(std::hint::black_box(&source)));
            start.elapsed()
        })
        .collect();
    times.sort();
    let mean = times.iter().sum::<Duration>() / runs;
    println!(
        "check of a {lines}-line file ({} statements): median {:.2} ms, mean {:.2} ms, min {:.2} ms, max {:.2} ms over {runs} runs",
        checked.ast.statements.len(),
        times[runs as usize / 2].as_secs_f64() * 1e3,
        mean.as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        times[runs as usize - 1].as_secs_f64() * 1e3,
    );
}
