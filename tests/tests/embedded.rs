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

/// A crate with `query` embedded in `src/main.rs` and `udfs` as `src/udfs.rs`: cargo's
/// output when it does not build.
fn build_failure(query: &str, udfs: &str) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let runtime = root().join("runtime");
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"bad-query\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
             [dependencies]\ndfl = {{ path = {:?}, default-features = false, features = [\"macros\"] }}\n\n[workspace]\n\n\
             [profile.dev.package.\"*\"]\ndebug = false\n",
            runtime.display().to_string()
        ),
    )
    .unwrap();
    std::fs::write(dir.join("src/udfs.rs"), udfs).unwrap();
    std::fs::write(
        dir.join("src/main.rs"),
        format!("mod udfs;\ndfl::pipeline!(bad, r#\"\n{query}\"#);\nfn main() {{}}\n"),
    )
    .unwrap();
    let out = cargo_build(dir);
    assert!(!out.status.success(), "the crate built");
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn a_rust_function_called_with_the_wrong_sql_type_names_both_sides() {
    let stderr = build_failure(
        "CREATE TABLE t (id BIGINT, name STRING) WITH ('connector' = 'datagen');\n\
         CREATE TABLE o (n BIGINT) WITH ('connector' = 'print');\n\
         CREATE FUNCTION count_char AS 'crate::udfs::count_char';\n\
         INSERT INTO o SELECT count_char(id, 'a') FROM t;",
        "pub fn count_char(s: Option<dfl::types::Str>, c: Option<dfl::types::Str>) -> Option<i64> { None }\n",
    );
    assert!(stderr.contains("DFL0201") && stderr.contains("count_char expects STRING here, not BIGINT"), "{stderr}");
    assert!(
        stderr.contains("the Rust function `crate::udfs::count_char`") && stderr.contains("Option < i64 >"),
        "{stderr}"
    );
    // A signature SQL cannot call, and a function that is not there.
    let stderr = build_failure(
        "CREATE TABLE t (id BIGINT) WITH ('connector' = 'datagen');\n\
         CREATE TABLE o (n BIGINT) WITH ('connector' = 'print');\n\
         CREATE FUNCTION twice AS 'crate::udfs::twice';\n\
         CREATE FUNCTION gone AS 'crate::udfs::gone';\n\
         INSERT INTO o SELECT twice(id) + gone(id) FROM t;",
        "pub fn twice(x: i64) -> i64 { 2 * x }\n",
    );
    assert!(stderr.contains("DFL0601") && stderr.contains("is not `Option<…>`"), "{stderr}");
    assert!(stderr.contains("no function `crate::udfs::gone`"), "{stderr}");
}

#[test]
fn an_embedded_query_with_an_error_is_a_compile_error_showing_its_diagnostics() {
    let stderr = build_failure(
        "CREATE TABLE t (id BIGINT, name STRING) WITH ('connector' = 'datagen');\n\
         CREATE TABLE o (id BIGINT) WITH ('connector' = 'print');\n\
         INSERT INTO o SELECT idd FROM t;",
        "",
    );
    // Pointed at the query, with the code, the offending token of the query marked and
    // the help of `dflc check`.
    assert!(stderr.contains("src/main.rs:2:"), "{stderr}");
    assert!(stderr.contains("DFL0102") && stderr.contains("unknown column `idd`"), "{stderr}");
    assert!(stderr.contains("INSERT INTO o SELECT idd FROM t") && stderr.contains("did you mean `id`?"), "{stderr}");
}
