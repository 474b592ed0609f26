//! Splitting a file into statements before parsing, so that a syntax error in one
//! statement does not hide the others; and the checks that keep the parser safe on any
//! input (unclosed strings and comments, nesting depth).

use crate::diagnostic::{Code, Diagnostic};
use crate::span::Span;

/// How deeply brackets, `CASE … END` and type arguments may nest. Deeper input is
/// rejected before the recursive-descent parser sees it, so it cannot overflow the stack.
pub const MAX_NESTING: usize = 48;

/// One statement's text: `span` covers it without its `;`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk {
    pub span: Span,
}

/// Splits `text` on top-level `;`, keeping `EXECUTE STATEMENT SET BEGIN … END` together.
/// Returns the chunks and the problems found while scanning.
pub fn split(text: &str) -> (Vec<Chunk>, Vec<Diagnostic>) {
    let mut scanner = Scanner { bytes: text.as_bytes(), pos: 0, diagnostics: Vec::new() };
    let raw = scanner.chunks();
    (group_statement_sets(text, raw), scanner.diagnostics)
}

struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
    diagnostics: Vec<Diagnostic>,
}

impl Scanner<'_> {
    fn chunks(&mut self) -> Vec<Chunk> {
        let mut chunks = Vec::new();
        let mut start = 0;
        let mut has_content = false;
        // Nesting: brackets, CASE … END and `<…>` after a type keyword.
        let mut depth = 0usize;
        let mut reported_depth = false;
        let mut angle_opens = 0usize;
        let mut last_word = String::new();
        while self.pos < self.bytes.len() {
            let c = self.bytes[self.pos];
            match c {
                b'\'' | b'`' => {
                    has_content = true;
                    self.skip_quoted(c);
                    continue;
                }
                b'-' if self.peek(1) == Some(b'-') => {
                    while self.pos < self.bytes.len() && self.bytes[self.pos] != b'\n' {
                        self.pos += 1;
                    }
                    continue;
                }
                b'/' if self.peek(1) == Some(b'*') => {
                    self.skip_block_comment();
                    continue;
                }
                b';' => {
                    if has_content {
                        chunks.push(Chunk { span: Span::new(start, self.pos) });
                    }
                    self.pos += 1;
                    start = self.pos;
                    has_content = false;
                    depth = 0;
                    angle_opens = 0;
                    reported_depth = false;
                    last_word.clear();
                    continue;
                }
                b'(' | b'[' => depth += 1,
                b')' | b']' => depth = depth.saturating_sub(1),
                b'<' if is_type_constructor(&last_word) => {
                    depth += 1;
                    angle_opens += 1;
                }
                b'>' if angle_opens > 0 => {
                    depth = depth.saturating_sub(1);
                    angle_opens -= 1;
                }
                c if c.is_ascii_alphabetic() || c == b'_' => {
                    has_content = true;
                    let word_start = self.pos;
                    while self.pos < self.bytes.len()
                        && (self.bytes[self.pos].is_ascii_alphanumeric() || matches!(self.bytes[self.pos], b'_' | b'$'))
                    {
                        self.pos += 1;
                    }
                    last_word = String::from_utf8_lossy(&self.bytes[word_start..self.pos]).to_ascii_lowercase();
                    if last_word == "case" {
                        depth += 1;
                    } else if last_word == "end" {
                        depth = depth.saturating_sub(1);
                    }
                    if depth > MAX_NESTING && !reported_depth {
                        reported_depth = true;
                        self.too_deep(word_start);
                    }
                    continue;
                }
                _ => {}
            }
            if !c.is_ascii_whitespace() {
                has_content = true;
                last_word.clear();
            }
            if depth > MAX_NESTING && !reported_depth {
                reported_depth = true;
                self.too_deep(self.pos);
            }
            self.pos += 1;
        }
        if has_content {
            chunks.push(Chunk { span: Span::new(start, self.bytes.len()) });
        }
        chunks
    }

    fn peek(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.pos + ahead).copied()
    }

    fn too_deep(&mut self, at: usize) {
        self.diagnostics.push(
            Diagnostic::error(Code::TooComplex, format!("nesting is deeper than {MAX_NESTING} levels"))
                .at(Span::new(at, at + 1), "too deep here")
                .with_help("split the expression or query into views"),
        );
    }

    /// Skips `'…'` (with `''` escapes) or `` `…` `` (with ``` `` ``` escapes).
    fn skip_quoted(&mut self, quote: u8) {
        let open = self.pos;
        self.pos += 1;
        while self.pos < self.bytes.len() {
            if self.bytes[self.pos] == quote {
                if self.peek(1) == Some(quote) {
                    self.pos += 2;
                    continue;
                }
                self.pos += 1;
                return;
            }
            self.pos += 1;
        }
        let what = if quote == b'\'' { "string literal" } else { "quoted identifier" };
        self.diagnostics.push(
            Diagnostic::error(Code::Unterminated, format!("{what} is not closed"))
                .at(Span::new(open, open + 1), "opened here")
                .with_help(format!("add the closing {}", quote as char)),
        );
    }

    fn skip_block_comment(&mut self) {
        let open = self.pos;
        self.pos += 2;
        while self.pos + 1 < self.bytes.len() {
            if self.bytes[self.pos] == b'*' && self.bytes[self.pos + 1] == b'/' {
                self.pos += 2;
                return;
            }
            self.pos += 1;
        }
        self.pos = self.bytes.len();
        self.diagnostics.push(
            Diagnostic::error(Code::Unterminated, "comment is not closed")
                .at(Span::new(open, open + 2), "opened here")
                .with_help("add the closing */"),
        );
    }
}

fn is_type_constructor(word: &str) -> bool {
    matches!(word, "row" | "array" | "map" | "multiset")
}

/// The first words of a chunk, lower-cased, skipping comments: enough to recognise
/// `EXECUTE STATEMENT SET BEGIN` and `END`.
fn leading_words(text: &str, n: usize) -> Vec<String> {
    let mut words = Vec::new();
    let mut rest = text;
    while words.len() < n {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix("--") {
            rest = r.split_once('\n').map_or("", |(_, after)| after);
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.split_once("*/").map_or("", |(_, after)| after);
        } else {
            let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
            if end == 0 {
                break;
            }
            words.push(rest[..end].to_ascii_lowercase());
            rest = &rest[end..];
        }
    }
    words
}

fn group_statement_sets(text: &str, raw: Vec<Chunk>) -> Vec<Chunk> {
    let mut out: Vec<Chunk> = Vec::with_capacity(raw.len());
    let mut open: Option<Chunk> = None;
    for chunk in raw {
        let chunk_text = &text[chunk.span.start..chunk.span.end];
        if let Some(set) = open.as_mut() {
            set.span.end = chunk.span.end;
            if closes_set(chunk_text) {
                out.extend(open.take());
            }
            continue;
        }
        if leading_words(chunk_text, 4) == ["execute", "statement", "set", "begin"] {
            if closes_set(chunk_text) {
                out.push(chunk);
            } else {
                open = Some(chunk);
            }
        } else {
            out.push(chunk);
        }
    }
    out.extend(open);
    out
}

/// Whether a chunk ends with the `END` of a statement set: its last word is END, and it
/// has more ENDs than CASEs (a CASE … END is not the set's end).
fn closes_set(chunk: &str) -> bool {
    let words = words(chunk);
    let ends = words.iter().filter(|w| *w == "end").count();
    let cases = words.iter().filter(|w| *w == "case").count();
    words.last().is_some_and(|w| w == "end") && ends > cases
}

/// The lower-cased words of a chunk outside strings, quoted names and comments.
fn words(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'`') => {
                i += 1;
                while i < b.len() && b[i] != q {
                    i += 1;
                }
                i += 1;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            c if c.is_ascii_alphanumeric() || c == b'_' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$') {
                    i += 1;
                }
                out.push(text[start..i].to_ascii_lowercase());
            }
            _ => i += 1,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str) -> Vec<&str> {
        split(src).0.iter().map(|c| src[c.span.start..c.span.end].trim()).collect()
    }

    #[test]
    fn splits_on_top_level_semicolons_only() {
        let src = "SELECT ';' FROM t; -- a; comment\nSELECT `a;b` /* ; */ FROM u;";
        assert_eq!(texts(src), ["SELECT ';' FROM t", "-- a; comment\nSELECT `a;b` /* ; */ FROM u"]);
    }

    #[test]
    fn keeps_statement_sets_together() {
        let src =
            "SET 'a'='b'; EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT 1; INSERT INTO b SELECT 2; END; SELECT 3";
        let t = texts(src);
        assert_eq!(t.len(), 3);
        assert!(t[1].starts_with("EXECUTE") && t[1].ends_with("END"), "{t:?}");
    }

    #[test]
    fn closes_statement_sets_ended_in_the_same_chunk() {
        let t = texts("EXECUTE STATEMENT SET BEGIN END; SELECT 1");
        assert_eq!(t, ["EXECUTE STATEMENT SET BEGIN END", "SELECT 1"]);
        let t = texts(
            "EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT CASE WHEN x THEN 1 END FROM t; INSERT INTO b SELECT 2 END; SELECT 3",
        );
        assert_eq!(t.len(), 2, "{t:?}");
        assert_eq!(t[1], "SELECT 3");
    }

    #[test]
    fn reports_unclosed_strings_and_comments() {
        let (_, d) = split("SELECT 'abc FROM t");
        assert_eq!(d[0].code, Code::Unterminated);
        let (_, d) = split("SELECT 1 /* never closed");
        assert_eq!(d[0].code, Code::Unterminated);
    }

    #[test]
    fn reports_deep_nesting_once() {
        let src = format!("SELECT {}1{}", "(".repeat(1000), ")".repeat(1000));
        let (_, d) = split(&src);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, Code::TooComplex);
        let ok = format!("SELECT {}1{}", "(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
        assert!(split(&ok).1.is_empty());
    }
}
