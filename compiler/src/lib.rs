#![doc = include_str!("../ARCHITECTURE.md")]
#![forbid(unsafe_code)]

pub mod ast;
pub mod catalog;
pub mod codegen;
pub mod diagnostic;
pub mod embed;
pub mod explain;
pub mod hir;
pub mod parallel;
pub mod parser;
pub mod plan;
pub mod progress;
pub mod project;
pub mod resolve;
pub mod span;
pub mod types;

pub use diagnostic::{Diagnostic, Diagnostics};
pub use span::{SourceFile, Span};

/// Parses a file into its AST, reporting every syntax error.
pub fn parse(source: &SourceFile) -> parser::Parsed {
    parser::parse_file(source)
}

/// What checking a file gives: the resolved program (as far as it resolved) and every
/// diagnostic, sorted by position.
#[derive(Debug)]
pub struct Checked {
    pub ast: ast::File,
    pub hir: hir::Program,
    pub diagnostics: Diagnostics,
}

/// Parses and resolves a file: every syntax, name, type and streaming error and warning.
pub fn check(source: &SourceFile) -> Checked {
    check_with(source, &catalog::rust_fns::RustFunctions::default())
}

/// [`check`] for a query of a crate, which may call `rust` functions of it.
pub fn check_with(source: &SourceFile, rust: &catalog::rust_fns::RustFunctions) -> Checked {
    let parsed = parse(source);
    let (hir, resolve_diagnostics) = resolve::resolve(&parsed.file, &parsed.failed_names, rust);
    let mut diagnostics = parsed.diagnostics;
    diagnostics.extend(resolve_diagnostics);
    let diagnostics = diagnostics.sorted().deduplicated();
    Checked { ast: parsed.file, hir, diagnostics }
}

/// A file compiled to Rust: the checked program, its dataflow and the generated code.
#[derive(Debug)]
pub struct Compiled {
    pub checked: Checked,
    pub pipeline: plan::Pipeline,
    pub generated: codegen::Generated,
}

/// Checks, plans and generates a file. `Err` carries every diagnostic (warnings of a
/// successful compilation are in `checked.diagnostics`).
pub fn compile(source: &SourceFile, name: &str) -> Result<Compiled, Diagnostics> {
    compile_with(source, name, &catalog::rust_fns::RustFunctions::default())
}

/// [`compile`] for a query of a crate, which may call `rust` functions of it.
pub fn compile_with(
    source: &SourceFile,
    name: &str,
    rust: &catalog::rust_fns::RustFunctions,
) -> Result<Compiled, Diagnostics> {
    let checked = check_with(source, rust);
    if checked.diagnostics.has_errors() {
        return Err(checked.diagnostics);
    }
    let pipeline = plan::plan(&checked.hir)?;
    let generated = codegen::generate(&checked.hir, &pipeline, name)?;
    Ok(Compiled { checked, pipeline, generated })
}
