//! `docs/language.md` stays true and complete:
//! - every ```` ```sql ```` block is a whole file that `dflc check` accepts without errors;
//! - every ```` ```sql error ```` block is one it rejects;
//! - every connector, built-in function and diagnostic code dflc knows is documented.

use dfl_compiler::diagnostic::render::{self, Style};
use dfl_compiler::{SourceFile, check};
use std::path::Path;

/// One fenced example of the reference.
struct Block {
    /// 1-based line of the opening fence.
    line: usize,
    /// Marked `sql error`: must fail.
    expects_error: bool,
    text: String,
}

fn language_md() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/language.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The ```` ```sql ```` and ```` ```sql error ```` blocks, line by line: a block opens on a
/// line that is exactly one of those fences and closes on the next line that is exactly
/// ```` ``` ````. Other fenced blocks (```` ```text ````, …) are skipped whole.
fn sql_blocks(doc: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    // (line, expects_error, lines) of the SQL block being read; `in_other` for other fences.
    let mut current: Option<(usize, bool, Vec<&str>)> = None;
    let mut in_other = false;
    for (i, line) in doc.lines().enumerate() {
        let fence = line.trim();
        if let Some((start, expects_error, lines)) = current.as_mut() {
            if fence == "```" {
                blocks.push(Block { line: *start, expects_error: *expects_error, text: lines.join("\n") + "\n" });
                current = None;
            } else {
                lines.push(line);
            }
        } else if in_other {
            if fence == "```" {
                in_other = false;
            }
        } else if fence == "```sql" || fence == "```sql error" {
            current = Some((i + 1, fence == "```sql error", Vec::new()));
        } else if fence.starts_with("```") {
            in_other = true;
        }
    }
    assert!(
        current.is_none(),
        "docs/language.md: the sql block opened on line {} is not closed",
        current.map_or(0, |c| c.0)
    );
    blocks
}

#[test]
fn examples_check_as_marked() {
    let doc = language_md();
    let blocks = sql_blocks(&doc);
    let mut failures = Vec::new();
    for block in &blocks {
        let name = format!("docs/language.md:{}", block.line);
        let source = SourceFile::new(name.clone(), block.text.clone());
        let checked = check(&source);
        let has_errors = checked.diagnostics.has_errors();
        if has_errors && !block.expects_error {
            let rendered = render::to_text(&source, &checked.diagnostics.0, Style::Plain);
            failures.push(format!("the ```sql block at line {} has errors:\n{rendered}", block.line));
        } else if !has_errors && block.expects_error {
            failures.push(format!("the ```sql error block at line {} checks without errors", block.line));
        }
    }
    assert!(
        failures.is_empty(),
        "{} example(s) of docs/language.md are wrong:\n\n{}",
        failures.len(),
        failures.join("\n")
    );
    let valid = blocks.iter().filter(|b| !b.expects_error).count();
    assert!(valid >= 40, "docs/language.md should have at least 40 ```sql examples, found {valid}");
    assert!(blocks.iter().any(|b| b.expects_error), "docs/language.md has no ```sql error example");
}

#[test]
fn every_connector_function_and_code_is_documented() {
    let doc = language_md();
    let missing_connectors: Vec<&str> = dfl_compiler::catalog::connectors::CONNECTORS
        .iter()
        .map(|c| c.name)
        .filter(|name| !doc.contains(&format!("`{name}`")))
        .collect();
    assert!(missing_connectors.is_empty(), "connectors missing from docs/language.md: {missing_connectors:?}");
    // Function tables start each row with the signature: `NAME(…)` or `NAME`.
    let missing_functions: Vec<&str> = dfl_compiler::catalog::functions::names()
        .filter(|name| !doc.contains(&format!("| `{name}(")) && !doc.contains(&format!("| `{name}`")))
        .collect();
    assert!(missing_functions.is_empty(), "functions missing from docs/language.md: {missing_functions:?}");
    let missing_codes: Vec<&str> = dfl_compiler::diagnostic::Code::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|code| !doc.contains(&format!("| `{code}` |")))
        .collect();
    assert!(missing_codes.is_empty(), "diagnostic codes missing from the table in docs/language.md: {missing_codes:?}");
}

#[test]
fn block_extraction() {
    let doc = "text\n```sql\nSELECT 1;\n```\n```text\n```sql\n```\n```sql error\nBAD\n```\n";
    let blocks = sql_blocks(doc);
    assert_eq!(blocks.len(), 2);
    assert_eq!((blocks[0].line, blocks[0].expects_error, blocks[0].text.as_str()), (2, false, "SELECT 1;\n"));
    assert_eq!((blocks[1].line, blocks[1].expects_error, blocks[1].text.as_str()), (8, true, "BAD\n"));
}
