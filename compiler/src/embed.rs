//! `embed`: queries compiled into Rust modules that another crate includes — what the
//! `dfl::pipeline!` macro expands to, and what a build script writes with [`compile_dir`].
//! The code is the same `dflc build` generates, as a module: `pub fn main(args)` runs the
//! pipeline as the binary would (the same `--set`, checkpoint and signal handling), and
//! the row structs of its tables are public.
//!
//! In a build script:
//!
//! ```no_run
//! // In build.rs's main:
//! if let Err(diagnostics) = dfl_compiler::embed::compile_dir("queries") {
//!     panic!("{diagnostics}");
//! }
//! // In src/main.rs: include!(concat!(env!("OUT_DIR"), "/queries.rs")); and then
//! // queries::my_query::main(std::env::args().skip(1).collect()) runs queries/my_query.sql.
//! ```

use crate::catalog::rust_fns::RustFunctions;
use crate::codegen::{self, Options};
use crate::diagnostic::render::{self, Style};
use crate::span::SourceFile;
use std::path::{Path, PathBuf};

/// The attribute allowing, on a module of generated code, the lints it may trip
/// ([`codegen::ALLOWED_LINTS`]).
pub fn allow_attribute() -> String {
    format!("#[allow({})]", codegen::ALLOWED_LINTS)
}

/// The Rust code of a module running query `text` as pipeline `name` (`file` names the
/// text in diagnostics); or every diagnostic of the query, rendered as `dflc check` does.
pub fn module(name: &str, file: &str, text: &str) -> Result<String, String> {
    module_with(name, file, text, &crate_functions())
}

/// The Rust functions of the crate being built (`$CARGO_MANIFEST_DIR/src`), which its
/// queries may call (`CREATE FUNCTION f AS 'crate::udfs::f'`); none outside cargo.
pub fn crate_functions() -> RustFunctions {
    match std::env::var_os("CARGO_MANIFEST_DIR") {
        Some(dir) => RustFunctions::of_crate(&Path::new(&dir).join("src")),
        None => RustFunctions::default(),
    }
}

/// The Rust functions a query embedded in `file` may call: those of the crate's `src/`
/// when the file is in it, else those of `file` itself — the root of an example, test or
/// bench target.
pub fn functions_for(file: &Path) -> RustFunctions {
    let file = std::env::current_dir().map(|d| d.join(file)).unwrap_or_else(|_| file.to_path_buf());
    let src = std::env::var_os("CARGO_MANIFEST_DIR").map(|d| Path::new(&d).join("src"));
    match src {
        Some(src) if !file.starts_with(&src) && file.is_file() => crate::catalog::rust_fns::scan_root_file(&file),
        _ => crate_functions(),
    }
}

/// Where the text of a query embedded in a Rust file starts: its diagnostics then name
/// the file's own lines and columns.
#[derive(Debug, Clone)]
pub struct Origin {
    /// The Rust file, as rustc names it.
    pub file: String,
    /// The line (from 1) and column (from 1) of the text's first character.
    pub line: usize,
    pub column: usize,
}

/// [`module_with`] for a query embedded at `origin`: the diagnostics point into the Rust
/// file, at the offending token.
pub fn module_at(name: &str, text: &str, origin: &Origin, rust: &RustFunctions) -> Result<String, String> {
    module_with(name, &origin.file, text, rust).map_err(|plain| {
        // The same diagnostics over the text placed where it is in the file.
        let placed = format!(
            "{}{}{text}",
            "\n".repeat(origin.line.saturating_sub(1)),
            " ".repeat(origin.column.saturating_sub(1))
        );
        module_with(name, &origin.file, &placed, rust).err().unwrap_or(plain)
    })
}

/// [`module`] calling the Rust functions `rust`.
pub fn module_with(name: &str, file: &str, text: &str, rust: &RustFunctions) -> Result<String, String> {
    let source = SourceFile::new(file, text.to_string());
    let compiled =
        crate::compile_with(&source, name, rust).map_err(|d| render::to_text(&source, &d.0, Style::Plain))?;
    let options = Options::default().with_module(true);
    codegen::generate_with(&compiled.checked.hir, &compiled.pipeline, name, options)
        .map(|g| g.main_rs)
        .map_err(|d| render::to_text(&source, &d.0, Style::Plain))
}

/// A module name for a query file: its stem, with characters Rust names cannot hold as
/// `_` (and a leading `_` before a digit).
pub fn module_name(path: &Path) -> String {
    let stem = path.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
    let mut name: String = stem.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    name
}

/// For a build script: compiles every `*.sql` file of `dir` (relative to the crate) into
/// `$OUT_DIR/<module>.rs`, and writes `$OUT_DIR/queries.rs` declaring `pub mod queries`
/// with one module per file; tells cargo to run the script again when the folder or a file
/// in it changes. Returns the module names, or the diagnostics of every file that does not
/// compile.
pub fn compile_dir(dir: impl AsRef<Path>) -> Result<Vec<String>, String> {
    let out = std::env::var_os("OUT_DIR").ok_or("OUT_DIR is not set: call compile_dir from a build script")?;
    compile_dir_into(dir.as_ref(), Path::new(&out))
}

/// [`compile_dir`] writing into `out` (and printing cargo's rerun lines).
pub fn compile_dir_into(dir: &Path, out: &Path) -> Result<Vec<String>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    println!("cargo:rerun-if-changed={}", dir.display());
    // The crate's functions the queries may call.
    println!("cargo:rerun-if-changed=src");
    let (mut names, mut index, mut errors) = (Vec::new(), String::new(), String::new());
    let allow = allow_attribute();
    let rust = crate_functions();
    for file in files {
        println!("cargo:rerun-if-changed={}", file.display());
        let name = module_name(&file);
        let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        match module_with(&name, &file.display().to_string(), &text, &rust) {
            Ok(code) => {
                let target = out.join(format!("{name}.rs"));
                std::fs::write(&target, code).map_err(|e| format!("{}: {e}", target.display()))?;
                index.push_str(&format!(
                    "    {allow}\n    pub mod {name} {{\n        include!(concat!(env!(\"OUT_DIR\"), \"/{name}.rs\"));\n    }}\n"
                ));
                names.push(name);
            }
            Err(diagnostics) => errors.push_str(&diagnostics),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let target = out.join("queries.rs");
    std::fs::write(
        &target,
        format!("/// The pipelines of the queries folder, one module each.\npub mod queries {{\n{index}}}\n"),
    )
    .map_err(|e| format!("{}: {e}", target.display()))?;
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_of_queries_becomes_modules_and_errors_name_their_file() {
        let dir = tempfile::tempdir().unwrap();
        let (queries, out) = (dir.path().join("queries"), dir.path().join("out"));
        std::fs::create_dir_all(&queries).unwrap();
        std::fs::create_dir_all(&out).unwrap();
        let good = "CREATE TABLE t (a INT) WITH ('connector' = 'datagen');\n\
                    CREATE TABLE o (a INT) WITH ('connector' = 'blackhole');\n\
                    INSERT INTO o SELECT a FROM t;\n";
        std::fs::write(queries.join("2-copy.sql"), good).unwrap();
        let names = compile_dir_into(&queries, &out).unwrap();
        assert_eq!(names, ["_2_copy"]);
        let index = std::fs::read_to_string(out.join("queries.rs")).unwrap();
        assert!(index.contains("pub mod _2_copy") && index.contains("\"/_2_copy.rs\""), "{index}");
        let code = std::fs::read_to_string(out.join("_2_copy.rs")).unwrap();
        assert!(code.contains("pub fn main(args: Vec<String>)"), "{code}");
        std::fs::write(queries.join("bad.sql"), "INSERT INTO nowhere SELECT 1;\n").unwrap();
        let err = compile_dir_into(&queries, &out).unwrap_err();
        assert!(err.contains("bad.sql") && err.contains("DFL"), "{err}");
    }
}
