//! Code generation, end to end: every pipeline fixture (`tests/pipelines/<case>/`), the
//! stateless Nexmark queries and every fixture of `tests/queries/` that compiles are
//! generated as modules of ONE crate, built once; their code is snapshotted. Each
//! pipeline case then runs on its `input/` files and its outputs must equal `expected/`
//! (a file per sink, or a folder per partitioned sink), compared regardless of order.
//! The stateful cases also run with their state in RocksDB (`rocks_<case>` modules).

use dfl_e2e::{Built, Query, build, output_lines, root, snapshot_code, sorted};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let mut queries = Vec::new();
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join("tests/pipelines"))
            .expect("tests/pipelines")
            .map(|e| e.unwrap().path())
            .collect();
        dirs.sort();
        for dir in dirs {
            let case = dir.file_name().unwrap().to_string_lossy().to_string();
            let text = std::fs::read_to_string(dir.join("query.sql")).expect("query.sql");
            if ROCKSDB_CASES.contains(&case.as_str()) {
                queries.push(Query {
                    name: format!("rocks_{case}"),
                    file: format!("tests/pipelines/{case}/query.sql (RocksDB state)"),
                    text: format!("SET 'state.backend' = 'rocksdb';\n{text}"),
                    must_compile: true,
                });
            }
            queries.push(Query {
                name: format!("case_{case}"),
                file: format!("tests/pipelines/{case}/query.sql"),
                text,
                must_compile: true,
            });
        }
        let mut fixtures: Vec<PathBuf> = std::fs::read_dir(root().join("tests/queries"))
            .expect("tests/queries")
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "sql"))
            .collect();
        fixtures.sort();
        for f in fixtures {
            let stem = f.file_stem().unwrap().to_string_lossy().to_string();
            let text = std::fs::read_to_string(&f).unwrap();
            queries.push(Query {
                name: format!("query_{stem}"),
                file: format!("tests/queries/{stem}.sql"),
                text,
                must_compile: false,
            });
        }
        // The RocksDB variants differ from their cases only in the state backend.
        build("pipelines", queries, |name, rust| {
            if !name.starts_with("rocks_") {
                snapshot_code(name, rust)
            }
        })
    })
}

/// The cases whose operators keep keyed state, run again with RocksDB as the state backend.
const ROCKSDB_CASES: &[&str] =
    &["interval_join", "join_two_sources", "over_aggregates", "regular_join", "temporal_join", "window_topn"];

#[test]
fn pipeline_cases_produce_their_expected_output() {
    run_cases("case_", |b, name, sets, _| b.run(name, sets));
}

/// Every case again with a checkpoint every two records and the process aborted (as
/// `kill -9` would) right after its first checkpoint, restarted from the checkpoint until
/// it finishes: the output must be the same.
#[test]
fn pipeline_cases_give_the_same_output_across_crashes_and_restores() {
    assert!(run_crashing("case_") >= 20, "the restores were hardly tested");
}

/// The stateful cases with their state in RocksDB, crashed and restored as above.
#[test]
fn stateful_cases_with_rocksdb_state_give_the_same_output_across_crashes_and_restores() {
    assert!(run_crashing("rocks_") >= 10, "the restores were hardly tested");
}

/// Runs the cases of modules named `prefix<case>` crashing after every checkpoint (one
/// every two records) until each finishes; returns the number of crashes.
fn run_crashing(prefix: &str) -> usize {
    let mut crashes = 0;
    run_cases(prefix, |b, name, sets, tmp| {
        let mut sets = sets.to_vec();
        sets.push(("state.checkpoints.dir".into(), tmp.join("checkpoints").display().to_string()));
        for _ in 0..500 {
            let out = b
                .command(name, &sets)
                .env("DFL_CHECKPOINT_EVERY_RECORDS", "2")
                .env("DFL_CRASH_AFTER_CHECKPOINTS", "1")
                .output()
                .expect("run the pipeline");
            let r = dfl_e2e::Run {
                success: out.status.success(),
                stdout: String::from_utf8_lossy(&out.stdout).to_string(),
                stderr: String::from_utf8_lossy(&out.stderr).to_string(),
            };
            if r.success || !r.stderr.contains("DFL_CRASH_AFTER_CHECKPOINTS: aborting") {
                return r;
            }
            crashes += 1;
        }
        panic!("{name} did not finish in 500 restarts");
    });
    crashes
}

/// Runs every pipeline case with `run` (given the built crate, the module, its `--set`
/// arguments and a scratch folder) and compares its outputs with the expected ones.
fn run_cases(prefix: &str, mut run: impl FnMut(&Built, &str, &[(String, String)], &std::path::Path) -> dfl_e2e::Run) {
    let b = built();
    let cases = root().join("tests/pipelines");
    let (mut ran, mut trees) = (0, 0);
    for (name, module) in &b.modules {
        let Some(case) = name.strip_prefix(prefix) else { continue };
        let dir = cases.join(case);
        let tmp = tempfile::tempdir().unwrap();
        let mut sets = Vec::new();
        // Tables read (streams, and lookup tables) are in the case's folder.
        for table in &module.program.tables {
            let sink = module.pipeline.sinks.iter().any(|s| module.program.tables[s.0].name == table.name);
            if let (false, "filesystem", Some(rel)) = (sink, table.connector.as_str(), table.options.get("path")) {
                sets.push((format!("{}.path", table.name), dir.join(rel).display().to_string()));
            }
        }
        let mut outputs = Vec::new();
        for &t in &module.pipeline.sinks {
            let table = &module.program.tables[t.0];
            if table.connector != "filesystem" {
                continue;
            }
            let rel = table.options.get("path").expect("filesystem sink has a path");
            let out = tmp.path().join(rel);
            let shown = if rel.ends_with('/') { format!("{}/", out.display()) } else { out.display().to_string() };
            sets.push((format!("{}.path", table.name), shown));
            outputs.push((table.name.clone(), out));
        }
        let r = run(b, name, &sets, tmp.path());
        assert!(r.success, "{case} failed: {}", r.stderr);
        for (table, out) in outputs {
            let expected_dir = dir.join("expected").join(&table);
            if expected_dir.is_dir() {
                // A partitioned sink: the same partition directories, each with the same
                // marker files and records.
                assert_eq!(folder_tree(&out), folder_tree(&expected_dir), "{case}: partitions of `{table}` differ");
                trees += 1;
                continue;
            }
            let expected_file = ["jsonl", "csv"]
                .iter()
                .map(|ext| dir.join("expected").join(format!("{table}.{ext}")))
                .find(|p| p.exists())
                .unwrap_or_else(|| panic!("{case}: no expected/{table}.jsonl or .csv"));
            let expected = sorted(output_lines(&expected_file));
            let actual = sorted(output_lines(&out));
            assert_eq!(actual, expected, "{case}: output of `{table}` differs");
        }
        ran += 1;
    }
    assert!(ran >= 1, "no pipeline case ran");
    // (The RocksDB variants have no partitioned sink.)
    assert!(trees >= 1 || prefix != "case_", "no partitioned sink output was compared");
}

/// A folder's directories (relative paths, the folder itself "") with the names of their
/// marker (`_…`) and hidden (`.…`, temporary: there must be none) files, and their other
/// files' records (sorted, comparable).
fn folder_tree(root: &Path) -> BTreeMap<String, (Vec<String>, Vec<String>)> {
    let mut tree = BTreeMap::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let (mut markers, mut lines) = (Vec::new(), Vec::new());
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if path.is_dir() {
                dirs.push(path);
            } else if name.starts_with('_') || name.starts_with('.') {
                markers.push(name);
            } else {
                lines.extend(output_lines(&path));
            }
        }
        markers.sort();
        let rel = dir.strip_prefix(root).unwrap().display().to_string();
        tree.insert(rel, (markers, sorted(lines)));
    }
    tree
}
