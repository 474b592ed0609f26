//! `parse`: query text → [`ast`](crate::ast), with every syntax error of the file.
//!
//! The file is first split into statements ([`split`]); each is parsed by the pest
//! grammar of `dfl-grammar` and converted to the AST at once ([`convert`]), so no
//! pest type leaks out of this module.

mod convert;
mod errors;
pub(crate) mod expr;
pub mod split;

use crate::ast;
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::span::{SourceFile, Span};
use convert::Piece;
use dfl_grammar::{DflParser, Rule};
use pest::Parser as _;

/// The most grammar rule calls one statement may take: a bound on work, so that no
/// input can make the parser run for long.
const CALL_LIMIT: usize = 5_000_000;

/// What parsing a file gives: the statements that parsed, and the diagnostics of those
/// that did not. `failed` lists the names that statements which failed to parse seem to
/// define, so that later stages do not pile "unknown table" errors on top.
#[derive(Debug, Default)]
pub struct Parsed {
    pub file: ast::File,
    pub diagnostics: Diagnostics,
    pub failed_names: Vec<String>,
}

/// Parses a whole file, statement by statement.
pub fn parse_file(source: &SourceFile) -> Parsed {
    let text = source.text.as_str();
    let (chunks, scan_errors) = split::split(text);
    let mut parsed = Parsed::default();
    let bad_spans: Vec<Span> = scan_errors.iter().filter_map(|d| d.span).collect();
    parsed.diagnostics.0.extend(scan_errors);
    pest::set_call_limit(std::num::NonZeroUsize::new(CALL_LIMIT));
    let mut open_set: Option<(Vec<ast::Insert>, Span)> = None;
    for chunk in chunks {
        let span = chunk.span;
        if bad_spans.iter().any(|b| b.start >= span.start && b.start <= span.end) {
            // Already reported (unclosed quote, too deep): parsing would only repeat it.
            parsed.failed_names.extend(defined_name(&text[span.start..span.end]));
            continue;
        }
        match parse_statement(text, span) {
            Ok(Piece::BeginSet(span)) => {
                if let Some((_, start)) = open_set.replace((Vec::new(), span)) {
                    parsed.diagnostics.push(unclosed_set(start));
                }
            }
            Ok(Piece::EndSet(end)) => match open_set.take() {
                Some((inserts, start)) => parsed
                    .file
                    .statements
                    .push(ast::Statement { kind: ast::StatementKind::StatementSet(inserts), span: start.to(end) }),
                None => parsed.diagnostics.push(
                    Diagnostic::error(Code::Syntax, "END without BEGIN STATEMENT SET").at(end, "nothing to end here"),
                ),
            },
            Ok(Piece::Statement(statement)) => match (open_set.as_mut(), statement.kind) {
                (Some((inserts, _)), ast::StatementKind::Insert(insert)) => inserts.push(insert),
                (Some(_), _) => parsed.diagnostics.push(
                    Diagnostic::error(Code::Syntax, "a statement set may only hold INSERT statements")
                        .at(statement.span, "not an INSERT")
                        .with_help("close the set with END; before this statement"),
                ),
                (None, kind) => parsed.file.statements.push(ast::Statement { kind, span: statement.span }),
            },
            Err(diagnostics) => {
                parsed.failed_names.extend(defined_name(&text[span.start..span.end]));
                parsed.diagnostics.0.extend(diagnostics);
            }
        }
    }
    if let Some((_, start)) = open_set {
        parsed.diagnostics.push(unclosed_set(start));
    }
    parsed
}

fn unclosed_set(start: Span) -> Diagnostic {
    Diagnostic::error(Code::Syntax, "statement set is not closed")
        .at(start, "opened here")
        .with_help("end it with END;")
}

/// Parses one statement at `span` of `text`.
fn parse_statement(text: &str, span: Span) -> Result<Piece, Vec<Diagnostic>> {
    let input = &text[span.start..span.end];
    let mut pairs =
        DflParser::parse(Rule::statement_input, input).map_err(|e| vec![errors::from_pest(e, input, span.start)])?;
    let statement = pairs
        .next()
        .and_then(|p| p.into_inner().find(|p| p.as_rule() == Rule::statement))
        .ok_or_else(|| vec![Diagnostic::internal("the grammar produced no statement")])?;
    convert::Converter::new(span.start).statement(statement)
}

/// Parses a single expression (used by tests and tools).
pub fn parse_expr(text: &str) -> Result<ast::Expr, Vec<Diagnostic>> {
    let (_, scan) = split::split(text);
    if !scan.is_empty() {
        return Err(scan);
    }
    let pair = DflParser::parse(Rule::expr, text)
        .map_err(|e| vec![errors::from_pest(e, text, 0)])?
        .next()
        .ok_or_else(|| vec![Diagnostic::internal("the grammar produced no expression")])?;
    if pair.as_span().end() != text.trim_end().len() {
        return Err(vec![
            Diagnostic::error(Code::Syntax, "unexpected input after the expression")
                .at(Span::new(pair.as_span().end(), text.len()), ""),
        ]);
    }
    convert::Converter::new(0).expr(pair)
}

/// `CREATE [TEMPORARY] TABLE|VIEW|FUNCTION [IF NOT EXISTS] name`: the name a statement
/// defines, found without parsing it.
fn defined_name(text: &str) -> Option<String> {
    let mut words =
        text.split(|c: char| c.is_whitespace() || c == '(').filter(|w| !w.is_empty()).map(|w| w.trim_matches('`'));
    if !words.next()?.eq_ignore_ascii_case("create") {
        return None;
    }
    let mut w = words.next()?;
    while ["temporary", "system", "table", "view", "function", "if", "not", "exists"]
        .iter()
        .any(|k| w.eq_ignore_ascii_case(k))
    {
        w = words.next()?;
    }
    Some(w.rsplit('.').next().unwrap_or(w).to_string())
}
