//! `dfl-example-embedded <pipeline> [--set key=value …]`: runs one of the crate's pipelines.
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let rest = |args: std::iter::Skip<std::env::Args>| args.collect::<Vec<String>>();
    match args.next().as_deref() {
        Some("copy_users") => dfl_example_embedded::copy_users::main(rest(args)),
        Some("clicks_per_category") => dfl_example_embedded::queries::clicks_per_category::main(rest(args)),
        Some("q14") => dfl_example_embedded::queries::q14::main(rest(args)),
        other => {
            eprintln!("unknown pipeline {other:?}: copy_users, clicks_per_category or q14");
            ExitCode::from(2)
        }
    }
}
