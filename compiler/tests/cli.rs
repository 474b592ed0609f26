//! The `dflc` command line: exit codes, output formats and the files it writes.

use std::process::Command;

fn dflc() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dflc"))
}

fn nexmark(q: &str) -> String {
    format!("{}/../examples/nexmark/{q}.sql", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn check_is_silent_on_a_valid_file_and_fails_on_errors() {
    let ok = dflc().args(["check", &nexmark("q1")]).output().unwrap();
    assert!(ok.status.success());
    assert!(ok.stdout.is_empty() && ok.stderr.is_empty(), "{}", String::from_utf8_lossy(&ok.stderr));

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.sql");
    std::fs::write(
        &bad,
        "CREATE TABLE t (a INT) WITH ('connector' = 'datagen');\nINSERT INTO nowhere SELECT a FROM t;\n",
    )
    .unwrap();
    let out = dflc().args(["check", bad.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("DFL0101") && stderr.contains("bad.sql:2:13"), "{stderr}");

    let json = dflc().args(["check", "--format", "json", bad.to_str().unwrap()]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON on stdout");
    assert_eq!(v[0]["code"], "DFL0101");
    assert_eq!(v[0]["span"]["start"]["line"], 2);
}

#[test]
fn build_emit_only_writes_a_cargo_project() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("q2");
    let status = dflc().args(["build", &nexmark("q2"), "-o", out.to_str().unwrap(), "--emit-only"]).status().unwrap();
    assert!(status.success());
    let cargo = std::fs::read_to_string(out.join("Cargo.toml")).unwrap();
    assert!(cargo.contains("name = \"q2\"") && cargo.contains("dfl = { path"), "{cargo}");
    let main = std::fs::read_to_string(out.join("src/main.rs")).unwrap();
    assert!(main.contains("fn main()") && main.contains("rt::fns::mod_("), "{main}");
    assert!(!out.join("q2").exists(), "--emit-only must not build");
}

#[test]
fn build_refuses_stateful_queries_with_dfl0700() {
    // LAG over a window: checked, but not compiled yet.
    let dir = tempfile::tempdir().unwrap();
    let query = dir.path().join("over.sql");
    std::fs::write(
        &query,
        "CREATE TABLE t (a BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'datagen');\n\
         CREATE TABLE o (a BIGINT, s BIGINT) WITH ('connector' = 'blackhole');\n\
         INSERT INTO o SELECT a, LAG(a) OVER (PARTITION BY a ORDER BY ts) FROM t;\n",
    )
    .unwrap();
    let out_dir = dir.path().join("out");
    let out = dflc().args(["build", query.to_str().unwrap(), "-o", out_dir.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("DFL0700"), "{stderr}");
    assert!(!out_dir.join("Cargo.toml").exists(), "nothing is written for a refused query");
}

#[test]
fn explain_prints_the_physical_plan() {
    let out = dflc().args(["explain", &nexmark("q0")]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("[t0.src] source (parallelism 1)\n      read datagen [nexmark]"), "{text}");
    assert!(text.contains("filter ($0 = 2)"), "{text}");
    assert!(text.contains("write nexmark_q0 [blackhole]"), "{text}");
    // As a Mermaid flowchart and a Graphviz graph.
    let out = dflc().args(["explain", &nexmark("q0"), "--format", "mermaid"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.starts_with("flowchart LR") && text.contains("n0 --> n1"), "{text}");
    let out = dflc().args(["explain", &nexmark("q0"), "--format", "dot"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.starts_with("digraph pipeline {") && text.contains("n0 -> n1;"), "{text}");
    let out = dflc().args(["explain", &nexmark("q0"), "--format", "svg"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown format 'svg'"));
}

/// `dflc run` on a bounded input shows progress (rows read of the input's size, the rate,
/// rows written) from the pipeline's metrics while it runs, and the pipeline's own lines.
#[test]
fn run_shows_progress_on_bounded_input() {
    let dir = tempfile::tempdir().unwrap();
    let query = dir.path().join("paced.sql");
    std::fs::write(
        &query,
        "CREATE TABLE t (n BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '2000', \
         'fields.n.kind' = 'sequence', 'fields.n.start' = '1', 'fields.n.end' = '100000');\n\
         CREATE TABLE o (n BIGINT) WITH ('connector' = 'blackhole');\n\
         INSERT INTO o SELECT n FROM t;\n",
    )
    .unwrap();
    let out = dflc()
        .args(["run", "--debug", query.to_str().unwrap(), "--", "--set", "t.fields.n.end=3000"])
        .env("DFLC_PROGRESS", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // The size after the --set override, and the pipeline's summary passed through.
    assert!(stderr.contains(" / 3,000 rows read · ") && stderr.contains(" rows/s · "), "{stderr}");
    assert!(stderr.contains("pipeline=paced") && stderr.contains(": finished: 3000 rows read"), "{stderr}");
}
