//! Queries inside Rust: `examples/embedded` (a query embedded with `dfl::pipeline!`, one
//! compiled from `queries/` by its build script) is built with cargo and both pipelines
//! run; a crate whose embedded query has an error does not compile, and cargo shows the
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
    assert_eq!(rows, ["{\"id\":18,\"name\":\"CY\"}", "{\"id\":20,\"name\":\"ANN\"}"]);

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
}

#[test]
fn an_embedded_query_with_an_error_is_a_compile_error_showing_its_diagnostics() {
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
    std::fs::write(
        dir.join("src/main.rs"),
        "dfl::pipeline!(bad, r#\"\n\
         CREATE TABLE t (id BIGINT, name STRING) WITH ('connector' = 'datagen');\n\
         CREATE TABLE o (id BIGINT) WITH ('connector' = 'print');\n\
         INSERT INTO o SELECT idd FROM t;\n\
         \"#);\n\
         fn main() {}\n",
    )
    .unwrap();
    let out = cargo_build(dir);
    assert!(!out.status.success(), "the crate built");
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Pointed at the query, with the code, the offending token of the query marked and
    // the help of `dflc check`.
    assert!(stderr.contains("src/main.rs:1:"), "{stderr}");
    assert!(stderr.contains("DFL0102") && stderr.contains("unknown column `idd`"), "{stderr}");
    assert!(stderr.contains("INSERT INTO o SELECT idd FROM t") && stderr.contains("did you mean `id`?"), "{stderr}");
}
