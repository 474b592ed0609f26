#![doc = include_str!("../ARCHITECTURE.md")]
#![forbid(unsafe_code)]

pub mod ast;
pub mod catalog;
pub mod diagnostic;
pub mod hir;
pub mod parser;
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
    let parsed = parse(source);
    let (hir, resolve_diagnostics) = resolve::resolve(&parsed.file, &parsed.failed_names);
    let mut diagnostics = parsed.diagnostics;
    diagnostics.extend(resolve_diagnostics);
    let diagnostics = diagnostics.sorted().deduplicated();
    Checked { ast: parsed.file, hir, diagnostics }
}
