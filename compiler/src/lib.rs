#![doc = include_str!("../ARCHITECTURE.md")]
#![forbid(unsafe_code)]

pub mod ast;
pub mod catalog;
pub mod diagnostic;
pub mod parser;
pub mod span;

pub use diagnostic::{Diagnostic, Diagnostics};
pub use span::{SourceFile, Span};

/// Parses a file into its AST, reporting every syntax error.
pub fn parse(source: &SourceFile) -> parser::Parsed {
    parser::parse_file(source)
}
