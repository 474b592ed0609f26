//! No input may panic, hang or overflow the stack: random and mutated queries, and
//! pathological nesting, all end in diagnostics (or success), each pointing inside the file.
//! Runs on the test harness's small (2 MiB) thread stacks on purpose.

use dfl_compiler::{SourceFile, check};
use proptest::prelude::*;

fn check_is_sane(text: &str) {
    let source = SourceFile::new("fuzz.sql", text);
    let checked = check(&source);
    for d in checked.diagnostics.iter() {
        if let Some(span) = d.span {
            assert!(
                span.start <= span.end && span.end <= text.len(),
                "span {span:?} outside the file for {text:?}: {}",
                d.message
            );
            assert!(
                text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
                "span {span:?} splits a character"
            );
        }
        assert!(!d.message.is_empty());
        assert_ne!(d.code, dfl_compiler::diagnostic::Code::Internal, "internal error for {text:?}: {}", d.message);
    }
    // Rendering never fails either.
    let _ = dfl_compiler::diagnostic::render::to_text(&source, &checked.diagnostics.0, Default::default());
}

fn nexmark_queries() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/nexmark");
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .expect("examples/nexmark exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .map(|p| std::fs::read_to_string(p).expect("readable"))
        .collect();
    out.sort();
    out
}

const TOKENS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP",
    "BY",
    "HAVING",
    "JOIN",
    "ON",
    "AS",
    "(",
    ")",
    ",",
    ";",
    "*",
    "+",
    "-",
    "/",
    "=",
    "<",
    ">",
    "<>",
    "'x'",
    "''",
    "1",
    "1.5",
    "NULL",
    "TRUE",
    "AND",
    "OR",
    "NOT",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "CAST",
    "INT",
    "ROW<",
    ">",
    "ARRAY[",
    "]",
    "INTERVAL",
    "'5'",
    "SECOND",
    "TABLE",
    "TUMBLE",
    "DESCRIPTOR",
    "CREATE",
    "VIEW",
    "INSERT",
    "INTO",
    "WITH",
    "'connector'",
    "'datagen'",
    "OVER",
    "PARTITION",
    "ROWS",
    "`q`",
    "a",
    "b",
    "t",
    ".",
    "--c\n",
    "/*",
    "*/",
    "é",
    "\u{1F600}",
    "\n",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn random_token_soup(tokens in prop::collection::vec(prop::sample::select(TOKENS), 0..60)) {
        check_is_sane(&tokens.join(" "));
    }

    #[test]
    fn random_text(text in "\\PC{0,200}") {
        check_is_sane(&text);
    }

    #[test]
    fn mutated_nexmark(which in 0usize..23, at in 0.0f64..1.0, len in 0usize..40, insert in prop::sample::select(TOKENS), op in 0u8..3) {
        let queries = nexmark_queries();
        let q = &queries[which % queries.len()];
        let mut pos = ((q.len() as f64) * at) as usize;
        while !q.is_char_boundary(pos) { pos -= 1; }
        let mut end = (pos + len).min(q.len());
        while !q.is_char_boundary(end) { end -= 1; }
        let mutated = match op {
            0 => format!("{}{}", &q[..pos], &q[end..]),
            1 => format!("{} {insert} {}", &q[..pos], &q[pos..]),
            _ => format!("{}{}{}", &q[..end], &q[pos..end], &q[end..]),
        };
        check_is_sane(&mutated);
    }
}

fn expect_rejected(text: &str) {
    let checked = check(&SourceFile::new("deep.sql", text));
    assert!(checked.diagnostics.has_errors(), "expected an error");
    check_is_sane(text);
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let n = 20_000;
    expect_rejected(&format!("SELECT {}1{} FROM t", "(".repeat(n), ")".repeat(n)));
    expect_rejected(&format!("SELECT {}1 FROM t", "NOT ".repeat(n)));
    expect_rejected(&format!("SELECT {}1 FROM t", "- ".repeat(n)));
    expect_rejected(&format!("SELECT 1{} FROM t", " + 1".repeat(n)));
    expect_rejected(&format!("SELECT {}1{} FROM t", "CASE WHEN TRUE THEN ".repeat(n), " END".repeat(n)));
    expect_rejected(&format!(
        "CREATE TABLE t (a {}INT{}) WITH ('connector' = 'datagen')",
        "ARRAY<".repeat(n),
        ">".repeat(n)
    ));
    expect_rejected(&format!("SELECT * FROM {}t{}", "(SELECT * FROM ".repeat(n), ")".repeat(n)));
    expect_rejected(&format!("SELECT a{} FROM t", ".b".repeat(n)));
}

#[test]
fn long_flat_lists_are_fine() {
    let items: Vec<String> = (0..5_000).map(|i| i.to_string()).collect();
    let text = format!(
        "CREATE TABLE t (a INT) WITH ('connector' = 'datagen');\n\
         CREATE TABLE s (a INT) WITH ('connector' = 'blackhole');\n\
         INSERT INTO s SELECT a FROM t WHERE a IN ({});",
        items.join(", ")
    );
    let checked = check(&SourceFile::new("long.sql", text));
    assert!(!checked.diagnostics.has_errors(), "{:?}", checked.diagnostics);
}
