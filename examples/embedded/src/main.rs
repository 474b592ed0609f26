//! `dfl-example-embedded <pipeline> [--set key=value …]`: runs one of the crate's pipelines.
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let rest = |args: std::iter::Skip<std::env::Args>| args.collect::<Vec<String>>();
    match args.next().as_deref() {
        Some("copy_users") => dfl_example_embedded::copy_users::main(rest(args)),
        Some("clicks_per_category") => dfl_example_embedded::queries::clicks_per_category::main(rest(args)),
        Some("q14") => dfl_example_embedded::queries::q14::main(rest(args)),
        Some("order_stats") => dfl_example_embedded::queries::order_stats::main(rest(args)),
        // Clicks from standard input (`user category` per line) counted per user, by the
        // pipeline running beside this tokio program.
        Some("count_clicks") => {
            let text = std::io::read_to_string(std::io::stdin()).unwrap_or_default();
            let clicks: Vec<(i64, String)> = text
                .lines()
                .filter_map(|l| {
                    let (user, category) = l.split_once(' ')?;
                    Some((user.parse().ok()?, category.to_string()))
                })
                .collect();
            let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a tokio runtime");
            match runtime.block_on(dfl_example_embedded::count_clicks(clicks)) {
                Ok((counts, summary)) => {
                    for (user, n) in counts {
                        println!("{user} {n}");
                    }
                    eprintln!("count_clicks: {} rows read, {} written", summary.rows_read, summary.rows_written);
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("count_clicks: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        other => {
            eprintln!("unknown pipeline {other:?}: copy_users, clicks_per_category, q14, order_stats or count_clicks");
            ExitCode::from(2)
        }
    }
}
