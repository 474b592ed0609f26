//! The one place diagnostics are turned into text: for terminals (through miette), as
//! JSON, and as plain lines for the proc macro.

use super::{Diagnostic, Severity};
use crate::span::SourceFile;
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use std::fmt;

/// How diagnostics are drawn for a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Style {
    /// Unicode frames and colours.
    Color,
    /// Unicode frames, no colours (snapshots, pipes).
    #[default]
    Plain,
}

/// A diagnostic bound to its file, in the shape miette draws.
struct Report<'a> {
    diagnostic: &'a Diagnostic,
    source: NamedSource<String>,
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.diagnostic, f)
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.diagnostic.code.as_str()))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.diagnostic.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.diagnostic.span.map(|_| &self.source as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.diagnostic.span?;
        let primary = LabeledSpan::new_primary_with_span(self.diagnostic.label.clone(), (span.start, span.len()));
        let secondary = self
            .diagnostic
            .secondary
            .iter()
            .map(|l| LabeledSpan::new_with_span(Some(l.message.clone()), (l.span.start, l.span.len())));
        Some(Box::new(std::iter::once(primary).chain(secondary)))
    }
}

/// Draws diagnostics as rustc does: code, message, `file:line:col`, the excerpt with the
/// span underlined, and help.
pub fn to_text(file: &SourceFile, diagnostics: &[Diagnostic], style: Style) -> String {
    let theme = match style {
        Style::Color => GraphicalTheme::unicode(),
        Style::Plain => GraphicalTheme::unicode_nocolor(),
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100).with_links(false);
    let mut out = String::new();
    for diagnostic in diagnostics {
        let report =
            Report { diagnostic, source: NamedSource::new(&file.name, file.text.clone()).with_language("sql") };
        // miette cannot draw excerpts of very long lines (it panics past 65,535
        // columns): those get the one-line form.
        if touches_long_line(file, diagnostic) {
            out.push_str(&to_line(file, diagnostic));
            out.push('\n');
            continue;
        }
        if diagnostic.span.is_none() {
            out.push_str(&format!("{}: ", file.name));
        }
        if handler.render_report(&mut out, &report).is_err() {
            out.push_str(&to_line(file, diagnostic));
        }
        out.push('\n');
    }
    out
}

/// The longest line drawn as an excerpt.
const MAX_EXCERPT_LINE: usize = 2_000;

fn touches_long_line(file: &SourceFile, d: &Diagnostic) -> bool {
    let spans = d.span.into_iter().chain(d.secondary.iter().map(|l| l.span));
    spans.into_iter().any(|s| {
        let start = file.text[..s.start.min(file.text.len())].rfind('\n').map_or(0, |i| i + 1);
        let end = file.text[s.end.min(file.text.len())..].find('\n').map_or(file.text.len(), |i| s.end + i);
        end - start > MAX_EXCERPT_LINE || s.len() > 20 * MAX_EXCERPT_LINE
    })
}

/// One line per diagnostic: `file:line:col: error[DFL0101]: message`.
pub fn to_line(file: &SourceFile, d: &Diagnostic) -> String {
    let place = match d.span {
        Some(span) => {
            let (line, col) = file.line_col(span.start);
            format!("{}:{line}:{col}", file.name)
        }
        None => file.name.clone(),
    };
    let severity = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut s = format!("{place}: {severity}[{}]: {}", d.code.as_str(), d.message);
    if let Some(help) = &d.help {
        s.push_str(&format!("\n  help: {help}"));
    }
    s
}

/// The diagnostics as a JSON array of objects with file, line, column, span, code,
/// severity, message, label, secondary labels and help.
pub fn to_json(file: &SourceFile, diagnostics: &[Diagnostic]) -> serde_json::Value {
    let position = |offset: usize| {
        let (line, column) = file.line_col(offset);
        serde_json::json!({ "line": line, "column": column, "offset": offset })
    };
    diagnostics
        .iter()
        .map(|d| {
            let span = d.span.map(|s| serde_json::json!({ "start": position(s.start), "end": position(s.end) }));
            let secondary: Vec<_> = d
                .secondary
                .iter()
                .map(|l| {
                    serde_json::json!({
                        "message": l.message,
                        "span": { "start": position(l.span.start), "end": position(l.span.end) },
                    })
                })
                .collect();
            serde_json::json!({
                "file": file.name,
                "severity": d.severity,
                "code": d.code.as_str(),
                "message": d.message,
                "span": span,
                "label": d.label,
                "secondary": secondary,
                "help": d.help,
            })
        })
        .collect()
}
