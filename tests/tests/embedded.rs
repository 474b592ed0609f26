//! Queries inside Rust: `examples/embedded` (a query embedded with `dfl::pipeline!`, others
//! compiled from `queries/` by its build script, all calling Rust functions of the crate)
//! is built with cargo and its pipelines run; a crate whose embedded query has an error —
//! in SQL, or in how it calls a Rust function — does not compile, and cargo shows the
//! query's diagnostics.

use dfl_e2e::root;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `cargo build` of the crate at `dir` in the shared target directory (with the
/// workspace's lock file, so that its dependencies are those already built).
fn cargo_build(dir: &Path) -> Output {
    std::fs::copy(root().join("Cargo.lock"), dir.join("Cargo.lock")).expect("copy the lock file");
    Command::new(env!("CARGO"))
        .arg("build")
        .arg("--quiet")
        .current_dir(dir)
        .env_remove("RUSTFLAGS")
        .output()
        .expect("run cargo")
}

/// The shared target directory (as the project's scripts set it).
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("target"))
}

#[test]
fn the_embedded_example_builds_and_runs_both_pipelines() {
    let example = root().join("examples/embedded");
    let out = cargo_build(&example);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let binary = target_dir().join("debug/dfl-example-embedded");
    let tmp = tempfile::tempdir().unwrap();
    let (users, adults) = (tmp.path().join("users.json"), tmp.path().join("adults.json"));
    std::fs::write(
        &users,
        "{\"id\": 20, \"name\": \"ann\"}\n{\"id\": 3, \"name\": \"bob\"}\n{\"id\": 18, \"name\": \"cy\"}\n",
    )
    .unwrap();
    let run = Command::new(&binary)
        .args(["copy_users", "--set"])
        .arg(format!("users.path={}", users.display()))
        .arg("--set")
        .arg(format!("adults.path={}", adults.display()))
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let mut rows: Vec<String> = std::fs::read_to_string(&adults).unwrap().lines().map(str::to_string).collect();
    rows.sort();
    // Initials and the number of a's, by the crate's Rust functions.
    assert_eq!(rows, ["{\"id\":18,\"name\":\"C/0\"}", "{\"id\":20,\"name\":\"A/1\"}"]);

    // The build script's query: 1,000 generated clicks counted per category, printed as
    // changes; applied, the counts add up to every click.
    let run = Command::new(&binary).arg("clicks_per_category").output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let mut counts = std::collections::BTreeMap::<String, i64>::new();
    for line in String::from_utf8_lossy(&run.stdout).lines().filter(|l| l.starts_with(['+', '-'])) {
        let (kind, row) = line.split_at(2);
        let (category, n) = row.trim_matches(['[', ']']).split_once(", ").unwrap_or_else(|| panic!("{line}"));
        match kind {
            "+I" | "+U" => assert!(counts.insert(category.to_string(), n.parse().unwrap()).is_none(), "{line}"),
            "-U" | "-D" => assert_eq!(counts.remove(category), Some(n.parse().unwrap()), "{line}"),
            other => panic!("{other}: {line}"),
        }
    }
    assert!(counts.len() > 1, "{counts:?}");
    assert_eq!(counts.values().sum::<i64>(), 1000);

    // Rows from the program and changes back to it ('connector' = 'rust'): 500 clicks of
    // 7 users, those in 'ads' not counted.
    let mut input = String::new();
    let mut expected = std::collections::BTreeMap::<i64, i64>::new();
    for i in 0..500i64 {
        let (user, category) = (i % 7, ["books", "ads", "games"][(i % 3) as usize]);
        input.push_str(&format!("{user} {category}\n"));
        if category != "ads" {
            *expected.entry(user).or_default() += 1;
        }
    }
    let mut child = Command::new(&binary)
        .arg("count_clicks")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.as_bytes()).unwrap();
    let run = child.wait_with_output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let counted: std::collections::BTreeMap<i64, i64> = String::from_utf8_lossy(&run.stdout)
        .lines()
        .map(|l| {
            let (u, n) = l.split_once(' ').unwrap_or_else(|| panic!("{l}"));
            (u.parse().unwrap(), n.parse().unwrap())
        })
        .collect();
    assert_eq!(counted, expected);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("count_clicks: 500 rows read"), "{stderr}");

    // A Rust aggregate function in sliding windows: 400 orders of 5 users over 100 s, some
    // with a NULL quantity; the weighted average price per user and window recomputed.
    let (orders, stats) = (tmp.path().join("orders.json"), tmp.path().join("stats.json"));
    let mut text = String::new();
    let mut expected = std::collections::BTreeMap::<(i64, i64), (f64, i64, i64)>::new();
    for i in 0..400i64 {
        let (user, price, ms) = (i % 5, (i * 37 % 101) as f64 / 4.0, i * 250);
        let qty = (i % 7 != 0).then_some(1 + i % 4);
        let ts = format!("2024-01-01 00:{:02}:{:02}.{:03}", ms / 60_000, ms / 1000 % 60, ms % 1000);
        let qty_json = qty.map_or("null".to_string(), |q| q.to_string());
        text.push_str(&format!("{{\"user_id\": {user}, \"price\": {price}, \"qty\": {qty_json}, \"ts\": \"{ts}\"}}\n"));
        // HOP 10 s every 5 s: the windows starting at the 5 s boundary at or before it, and 5 s before.
        let start = ms / 5000 * 5000;
        for window in [start - 5000, start] {
            let e = expected.entry((user, window)).or_default();
            e.2 += 1;
            if let Some(q) = qty {
                e.0 += price * q as f64;
                e.1 += q;
            }
        }
    }
    std::fs::write(&orders, text).unwrap();
    let run = Command::new(&binary)
        .args(["order_stats", "--set"])
        .arg(format!("orders.path={}", orders.display()))
        .arg("--set")
        .arg(format!("stats.path={}", stats.display()))
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let mut got = std::collections::BTreeMap::new();
    for line in std::fs::read_to_string(&stats).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let start = v["window_start"].as_str().unwrap_or_else(|| panic!("{line}"));
        let (min, sec) = (start[14..16].parse::<i64>().unwrap(), start[17..19].parse::<i64>().unwrap());
        let window = if start.starts_with("2023") { -5000 } else { (min * 60 + sec) * 1000 };
        got.insert((v["user_id"].as_i64().unwrap(), window), (v["avg_price"].as_f64(), v["orders"].as_i64().unwrap()));
    }
    assert_eq!(got.len(), expected.len(), "{got:?}");
    for (key, (total, weight, n)) in &expected {
        let (avg, orders) = got[key];
        assert_eq!(orders, *n, "{key:?}");
        let want = (*weight != 0).then(|| total / *weight as f64);
        match (avg, want) {
            (Some(a), Some(w)) => assert!((a - w).abs() < 1e-9, "{key:?}: {a} vs {w}"),
            (a, w) => assert_eq!(a, w, "{key:?}"),
        }
    }

    // Nexmark q14 with count_char in Rust: each bid's `extra` and its number of c's.
    let run = Command::new(&binary).args(["q14", "--set", "datagen.events.num=5000"]).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let stdout = String::from_utf8_lossy(&run.stdout);
    let rows: Vec<&str> = stdout.lines().filter(|l| l.starts_with("+I[")).collect();
    assert!(rows.len() > 1000, "{} rows", rows.len());
    for row in rows {
        let fields: Vec<&str> = row.trim_start_matches("+I[").trim_end_matches(']').split(", ").collect();
        let (extra, counted) = (fields[fields.len() - 2], fields[fields.len() - 1]);
        assert_eq!(counted.parse::<usize>().unwrap(), extra.matches('c').count(), "{row}");
    }
}
