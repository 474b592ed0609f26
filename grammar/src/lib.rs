//! The grammar of dflc's streaming SQL dialect (a subset of Flink SQL).
//!
//! `src/dfl.pest` is the single source of truth for the syntax. The compiler turns the
//! parse tree into its own AST right away; nothing of pest leaks past that conversion.
#![forbid(unsafe_code)]

/// The pest parser derived from `src/dfl.pest`.
#[derive(pest_derive::Parser)]
#[grammar = "src/dfl.pest"]
pub struct DflParser;

pub use pest;
