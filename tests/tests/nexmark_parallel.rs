//! Every Nexmark query dflc compiles, compiled at `SET 'parallelism.default' = '4'` and
//! run at 4 and 2 workers (`--set parallelism.default`), ends with the same result as the
//! query compiled at parallelism 1, on the seeded generator at 10,000 events per second of
//! event time (so that windows fire throughout). Printed changes are compared as the rows
//! they leave (an updating result's intermediate changes may interleave otherwise across
//! workers); files (q10's partitioned CSV) as sorted lines. Queries whose tasks cannot run
//! N-wide run at parallelism 1 and must agree too. q6 as published is refused (see
//! check.rs).

use dfl_e2e::{Built, Query, build, root};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

const QUERIES: &[&str] = &[
    "q0", "q1", "q2", "q3", "q4", "q5", "q7", "q8", "q9", "q10", "q11", "q12", "q13", "q14", "q15", "q16", "q17",
    "q18", "q19", "q20", "q21", "q22",
];

fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let side_input = root().join("examples/nexmark/data/side_input.txt");
        let mut queries = Vec::new();
        for q in QUERIES {
            let text = std::fs::read_to_string(root().join(format!("examples/nexmark/{q}.sql"))).unwrap();
            let text: Vec<&str> = text.lines().filter(|l| !l.starts_with("SET 'parallelism.default'")).collect();
            let text = text
                .join("\n")
                .replace("'connector' = 'blackhole'", "'connector' = 'print'")
                .replace("file://examples/nexmark/data/side_input.txt", &format!("file://{}", side_input.display()));
            for (suffix, set) in [("1", ""), ("4", "SET 'parallelism.default' = '4';\n")] {
                let name = format!("{q}_{suffix}");
                queries.push(Query {
                    file: format!("examples/nexmark/{q}.sql ({name})"),
                    name,
                    text: format!("{set}{text}"),
                    must_compile: true,
                });
            }
        }
        build("nexmark_parallel", queries, |_, _| {})
    })
}

/// Every line of the files under `dir`, sorted.
fn file_lines(dir: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return lines };
    for e in entries {
        let p = e.unwrap().path();
        let hidden = p.file_name().unwrap().to_string_lossy().starts_with('.');
        if p.is_dir() {
            lines.extend(file_lines(&p));
        } else if !hidden {
            lines.extend(std::fs::read_to_string(&p).unwrap().lines().map(String::from));
        }
    }
    lines.sort();
    lines
}

/// The rows a run's printed changes leave (with their count), and the lines of its files.
fn run(module: &str, parallelism: &str) -> (BTreeMap<String, i64>, Vec<String>) {
    let work = tempfile::tempdir().unwrap();
    let sets: Vec<(String, String)> = [
        ("datagen.events.num", "200000".to_string()),
        ("datagen.seed", "11".into()),
        ("datagen.first-event.rate", "10000".into()),
        ("datagen.next-event.rate", "10000".into()),
        ("parallelism.default", parallelism.into()),
        ("nexmark_q10.path", format!("{}/", work.path().join("q10").display())),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let r = built().run(module, &sets);
    assert!(r.success, "{module} at parallelism {parallelism}: {}", r.stderr);
    let mut rows: BTreeMap<String, i64> = BTreeMap::new();
    for line in r.stdout.lines() {
        let change = line.split_once("> ").map_or(line, |(_, c)| c);
        let (kind, row) = change.split_at(2);
        let n = match kind {
            "+I" | "+U" => 1,
            "-U" | "-D" => -1,
            other => panic!("{module}: not a change: {other} in {line}"),
        };
        *rows.entry(row.to_string()).or_default() += n;
    }
    rows.retain(|_, n| *n != 0);
    (rows, file_lines(&work.path().join("q10")))
}

/// q12 counts bids per bidder in windows of processing time: which window a bid falls in
/// depends on the wall clock (a run that crosses a 10-second boundary splits counts), so
/// its rows are compared as each bidder's total (`[bidder, total]`), which does not.
fn by_bidder_if_q12(
    q: &str,
    (rows, files): (BTreeMap<String, i64>, Vec<String>),
) -> (BTreeMap<String, i64>, Vec<String>) {
    if q != "q12" {
        return (rows, files);
    }
    let mut totals: BTreeMap<String, i64> = BTreeMap::new();
    for (row, n) in rows {
        let fields: Vec<&str> = row.trim_start_matches('[').trim_end_matches(']').split(", ").collect();
        let count: i64 = fields[1].parse().unwrap_or_else(|_| panic!("q12: not a count in {row}"));
        *totals.entry(format!("[{}, total]", fields[0])).or_default() += count * n;
    }
    (totals, files)
}

#[test]
fn nexmark_queries_at_parallelism_4_and_2_end_as_at_parallelism_1() {
    let mut with_output = 0;
    for q in QUERIES {
        let expected = by_bidder_if_q12(q, run(&format!("{q}_1"), "1"));
        with_output += usize::from(!expected.0.is_empty() || !expected.1.is_empty());
        for p in ["4", "2"] {
            let got = by_bidder_if_q12(q, run(&format!("{q}_4"), p));
            assert_eq!(got.0.len(), expected.0.len(), "{q} at parallelism {p}: rows left");
            assert_eq!(got, expected, "{q} at parallelism {p}");
        }
    }
    assert!(with_output >= QUERIES.len() - 1, "only {with_output} queries have output");
}
