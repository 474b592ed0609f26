//! Code generation, end to end.
//!
//! Every pipeline fixture (`tests/pipelines/<case>/query.sql`), the stateless Nexmark
//! queries and every fixture of `tests/queries/` that compiles are generated as modules
//! of ONE crate, built once (so the suite stays fast); their generated code is
//! snapshotted. Then each pipeline case runs with its `input/` files and its outputs are
//! compared with `expected/`, order-insensitively; the Nexmark queries run on the
//! generator and their outputs are checked against an independent computation.

use dfl_compiler::diagnostic::render::{self, Style};
use dfl_compiler::hir::Program;
use dfl_compiler::plan::{Input, Pipeline};
use dfl_compiler::project::{self, BuildOptions};
use dfl_compiler::{SourceFile, codegen, compile};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// A query compiled into a module of the test crate.
struct Module {
    program: Program,
    pipeline: Pipeline,
}

/// The test crate, built once for all tests.
struct Built {
    binary: PathBuf,
    modules: BTreeMap<String, Module>,
}

/// The Nexmark queries without state, with their blackhole sinks turned into JSON files
/// so that their output can be checked (the queries themselves are unchanged).
const NEXMARK_STATELESS: &[&str] = &["q0", "q1", "q2", "q21", "q22"];

fn nexmark_source(q: &str) -> String {
    let text = std::fs::read_to_string(root().join(format!("examples/nexmark/{q}.sql"))).expect("nexmark query");
    text.replace("'connector' = 'blackhole'", "'connector' = 'filesystem', 'path' = 'out/', 'format' = 'json'")
}

fn compile_module(name: &str, file: &str, text: String) -> Result<(Module, String), String> {
    let source = SourceFile::new(file, text);
    match compile(&source, name) {
        Ok(c) => {
            let module = codegen::generate_with(
                &c.checked.hir,
                &c.pipeline,
                name,
                codegen::Options::default().with_module(true),
            )
            .map_err(|d| render::to_text(&source, &d.0, Style::Plain))?;
            Ok((Module { program: c.checked.hir, pipeline: c.pipeline }, module.main_rs))
        }
        Err(d) => Err(render::to_text(&source, &d.0, Style::Plain)),
    }
}

fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(build_all)
}

fn build_all() -> Built {
    let mut modules = BTreeMap::new();
    let mut code = String::new();
    let mut add = |name: &str, file: &str, text: String, must_compile: bool, code: &mut String| {
        match compile_module(name, file, text) {
            Ok((module, rust)) => {
                insta::with_settings!({ snapshot_path => root().join("tests/snapshots"), prepend_module_to_snapshot => false }, {
                    insta::assert_snapshot!(format!("codegen__{name}"), rust);
                });
                code.push_str(&format!(
                    "#[allow(non_snake_case, non_camel_case_types, unused_variables, unused_mut, unused_imports, dead_code, clippy::all)]\npub mod {name} {{\n{rust}\n}}\n"
                ));
                modules.insert(name.to_string(), module);
            }
            Err(diagnostics) => {
                assert!(!must_compile, "{file} does not compile:\n{diagnostics}");
                // Stateful fixtures are refused with DFL0700, never with anything else.
                assert!(diagnostics.contains("DFL0700"), "{file}: unexpected diagnostics:\n{diagnostics}");
            }
        }
    };
    let cases = root().join("tests/pipelines");
    let mut dirs: Vec<PathBuf> =
        std::fs::read_dir(&cases).expect("tests/pipelines").map(|e| e.unwrap().path()).collect();
    dirs.sort();
    for dir in dirs {
        let name = format!("case_{}", dir.file_name().unwrap().to_string_lossy());
        let text = std::fs::read_to_string(dir.join("query.sql")).expect("query.sql");
        add(
            &name,
            &format!("tests/pipelines/{}/query.sql", dir.file_name().unwrap().to_string_lossy()),
            text,
            true,
            &mut code,
        );
    }
    for q in NEXMARK_STATELESS {
        add(&format!("nexmark_{q}"), &format!("examples/nexmark/{q}.sql"), nexmark_source(q), true, &mut code);
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
        add(&format!("query_{stem}"), &format!("tests/queries/{stem}.sql"), text, false, &mut code);
    }
    let dispatch: Vec<String> =
        modules.keys().map(|m| format!("        Some(\"{m}\") => {m}::main(args.collect()),")).collect();
    code.push_str(&format!(
        "fn main() -> std::process::ExitCode {{\n    let mut args = std::env::args().skip(1);\n    match args.next().as_deref() {{\n{}\n        other => {{ eprintln!(\"unknown pipeline {{other:?}}\"); std::process::ExitCode::FAILURE }}\n    }}\n}}\n",
        dispatch.join("\n")
    ));
    let options = BuildOptions::default().with_release(false);
    let dir = options.target_dir.join("dflc-e2e-pipelines");
    project::write_project(&dir, "e2e_pipelines", &code, &options).expect("write the test crate");
    let binary = project::build_project(&dir, "e2e_pipelines", &options).expect("the generated code compiles");
    Built { binary, modules }
}

/// Runs one pipeline module with `--set` arguments; returns stderr, panicking on failure.
fn run(module: &str, sets: &[(String, String)]) -> String {
    let mut cmd = Command::new(&built().binary);
    cmd.arg(module);
    for (k, v) in sets {
        cmd.arg("--set").arg(format!("{k}={v}"));
    }
    let out = cmd.output().expect("run the pipeline");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{module} failed: {stderr}");
    stderr
}

/// Every line of every file at `path` (a file, or the files of a folder).
fn output_lines(path: &Path) -> Vec<String> {
    let mut files = Vec::new();
    if path.is_dir() {
        for e in std::fs::read_dir(path).unwrap() {
            let p = e.unwrap().path();
            if !p.file_name().unwrap().to_string_lossy().starts_with('.') {
                files.push(p);
            }
        }
    } else if path.exists() {
        files.push(path.to_path_buf());
    }
    let mut lines = Vec::new();
    for f in files {
        lines.extend(std::fs::read_to_string(f).unwrap().lines().filter(|l| !l.is_empty()).map(String::from));
    }
    lines
}

/// A line in a comparable form: JSON re-serialised with numbers as doubles; CSV fields
/// that are numbers likewise.
fn canonical(line: &str) -> String {
    if line.starts_with('{') {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("bad JSON {line}: {e}"));
        return canonical_json(v).to_string();
    }
    line.split(',')
        .map(|f| f.parse::<f64>().map_or_else(|_| f.to_string(), |x| x.to_string()))
        .collect::<Vec<_>>()
        .join(",")
}

fn canonical_json(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Number(n) => serde_json::json!(n.as_f64()),
        serde_json::Value::Object(m) => m.into_iter().map(|(k, v)| (k, canonical_json(v))).collect(),
        serde_json::Value::Array(a) => a.into_iter().map(canonical_json).collect(),
        other => other,
    }
}

fn sorted(lines: Vec<String>) -> Vec<String> {
    let mut l: Vec<String> = lines.iter().map(|l| canonical(l)).collect();
    l.sort();
    l
}

#[test]
fn pipeline_cases_produce_their_expected_output() {
    let b = built();
    let cases = root().join("tests/pipelines");
    let mut ran = 0;
    for (name, module) in &b.modules {
        let Some(case) = name.strip_prefix("case_") else { continue };
        let dir = cases.join(case);
        let tmp = tempfile::tempdir().unwrap();
        let mut sets = Vec::new();
        for task in &module.pipeline.tasks {
            if let Input::Table(t) = task.input {
                let table = &module.program.tables[t.0];
                let rel = table.options.get("path").expect("filesystem source has a path");
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
        run(name, &sets);
        for (table, out) in outputs {
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
}
