//! The printer (`Display` of the AST) against the parser: printing a parsed file and
//! parsing it again gives the same tree (spans aside), and the printed text is a fixpoint.

use dfl_compiler::ast::*;
use dfl_compiler::parser::parse_expr;
use dfl_compiler::{SourceFile, Span};
use proptest::prelude::*;
use std::path::Path;

/// `{:?}` of a tree without its spans (`@start..end`).
fn strip_spans(debug: &str) -> String {
    let b = debug.as_bytes();
    let mut out = String::with_capacity(debug.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'@' {
            let digits = |mut j: usize| {
                let start = j;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                (j > start).then_some(j)
            };
            if let Some(j) = digits(i + 1).filter(|&j| b[j..].starts_with(b"..")).and_then(|j| digits(j + 2)) {
                i = j;
                continue;
            }
        }
        let c = debug[i..].chars().next().expect("in bounds");
        out.push(c);
        i += c.len_utf8();
    }
    out
}

fn shape<T: std::fmt::Debug>(tree: &T) -> String {
    strip_spans(&format!("{tree:#?}"))
}

/// One line, without the span fields: for messages.
fn compact<T: std::fmt::Debug>(tree: &T) -> String {
    strip_spans(&format!("{tree:?}")).replace(", span: ", "")
}

/// Panics, showing both trees, when two trees differ (spans aside).
fn assert_same<T: std::fmt::Debug>(a: &T, b: &T, what: &str, printed: &str) {
    if shape(a) != shape(b) {
        panic!(
            "{what}: the re-parsed tree differs\n--- printed:\n{printed}\n--- first:\n{}\n--- second:\n{}",
            compact(a),
            compact(b)
        );
    }
}

fn parse_file(name: &str, text: &str) -> File {
    let parsed = dfl_compiler::parse(&SourceFile::new(name, text));
    assert!(parsed.diagnostics.0.is_empty(), "{name}: {:#?}\n--- text:\n{text}", parsed.diagnostics.0);
    parsed.file
}

/// parse → print → parse gives the same tree, and printing is a fixpoint. Returns the print.
fn roundtrip_file(name: &str, text: &str) -> String {
    let first = parse_file(name, text);
    assert!(!first.statements.is_empty(), "{name}: no statements");
    let printed = first.to_string();
    let second = parse_file(&format!("{name} (printed)"), &printed);
    assert_same(&first, &second, name, &printed);
    assert_eq!(printed, second.to_string(), "{name}: printing is not a fixpoint");
    printed
}

fn parse_expr_ok(text: &str) -> Expr {
    parse_expr(text).unwrap_or_else(|d| panic!("{text:?} does not parse: {d:#?}"))
}

fn roundtrip_expr(text: &str) -> String {
    let first = parse_expr_ok(text);
    let printed = first.to_string();
    let second = parse_expr_ok(&printed);
    assert_same(&first, &second, text, &printed);
    assert_eq!(printed, second.to_string(), "{text}: printing is not a fixpoint");
    printed
}

fn sql_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries {
        let path = entry.expect("readable directory").path();
        if path.is_dir() {
            files.extend(sql_files(&path));
        } else if path.extension().is_some_and(|e| e == "sql") {
            files.push(path);
        }
    }
    files.sort();
    files
}

#[test]
fn example_and_test_queries_roundtrip() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let nexmark = sql_files(&root.join("examples/nexmark"));
    assert!(nexmark.len() >= 20, "the Nexmark examples are missing");
    // All examples (Nexmark and others), and the test queries if there are any.
    let mut files = sql_files(&root.join("examples"));
    files.extend(sql_files(&root.join("tests/queries")));
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable query file");
        roundtrip_file(&path.display().to_string(), &text);
    }
}

/// Statements covering every construct of the grammar.
const STATEMENTS: &[&str] = &[
    "CREATE TABLE t (id BIGINT NOT NULL, name STRING COMMENT 'the ''name''', ts TIMESTAMP(3), \
     price DECIMAL(10, 2), total AS price * 2 COMMENT 'computed', \
     meta TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL, part INT METADATA, \
     WATERMARK FOR ts AS ts - INTERVAL '5' SECOND, PRIMARY KEY (id) NOT ENFORCED) \
     COMMENT 'a table' PARTITIONED BY (part, name) WITH ('connector' = 'kafka', 'topic' = 'it''s')",
    "CREATE TEMPORARY TABLE IF NOT EXISTS cat.db.t (id INT PRIMARY KEY NOT ENFORCED, v VARCHAR(10) NULL) \
     WITH ('connector' = 'datagen')",
    "CREATE TABLE t2 (a INT, CONSTRAINT pk PRIMARY KEY (a, b), b INT, WATERMARK FOR a AS a) LIKE t1 (EXCLUDING ALL)",
    "create table n (r ROW<a INT NOT NULL 'first', `b c` ARRAY<STRING NOT NULL>>, \
     m MAP<STRING NOT NULL, MULTISET<DOUBLE> NOT NULL>, r2 ROW(x int), e ROW<>, \
     i INTERVAL DAY TO SECOND, t TIME WITHOUT TIME ZONE, l TIMESTAMP(3) WITH LOCAL TIME ZONE) WITH ()",
    "CREATE VIEW v (a, b) AS SELECT x, y FROM t",
    "CREATE TEMPORARY VIEW IF NOT EXISTS v2 AS SELECT * FROM t",
    "CREATE FUNCTION count_char AS 'com.github.nexmark.flink.udf.CountChar'",
    "CREATE TEMPORARY SYSTEM FUNCTION IF NOT EXISTS db.g AS 'crate::udf::g' LANGUAGE rust \
     USING JAR 'a.jar', JAR 'b.jar'",
    "CREATE TEMPORARY FUNCTION h AS 'H' LANGUAGE JAVA",
    "INSERT INTO sink SELECT * FROM src",
    "INSERT OVERWRITE sink PARTITION (dt = '2024-01-01', h = 3, ok = TRUE) (a, b) SELECT a, b FROM src",
    "EXECUTE INSERT INTO s VALUES (1)",
    "INSERT INTO s (SELECT 1 UNION ALL SELECT 2)",
    "EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT 1; INSERT INTO b (x) SELECT 2 FROM t; END",
    "SET 'table.exec.mini-batch.enabled' = 'true'",
    "SET",
    "RESET 'a.b'",
    "RESET",
    "DROP TABLE t",
    "CREATE CATALOG c WITH ('type' = 'x')",
    "WITH a AS (SELECT 1 AS x), b (y) AS (SELECT x FROM a) SELECT y FROM b",
    "SELECT a FROM t UNION ALL SELECT b FROM u UNION SELECT c FROM v INTERSECT SELECT d FROM w \
     EXCEPT SELECT e FROM x MINUS SELECT f FROM y",
    "(SELECT a FROM t) UNION ALL (SELECT b FROM u ORDER BY b LIMIT 1) ORDER BY a DESC NULLS LAST LIMIT 10 OFFSET 5",
    "VALUES (1, 'a'), (2, 'b'), ROW(3, 'c')",
    "SELECT * FROM (VALUES (1), (2)) AS v (x)",
    "SELECT DISTINCT t.*, c.db.u.*, u.a AS ua, 1 one, `select` FROM t, c.db.u",
    "SELECT * FROM a JOIN b ON a.id = b.id LEFT JOIN c USING (id, k) RIGHT OUTER JOIN d ON TRUE \
     FULL JOIN e ON a.x = e.x CROSS JOIN f INNER JOIN g ON 1 = 1 NATURAL JOIN h NATURAL LEFT JOIN i \
     NATURAL FULL OUTER JOIN j",
    "SELECT o.id, r.rate FROM orders AS o JOIN rates FOR SYSTEM_TIME AS OF o.proctime AS r ON o.cur = r.cur",
    "SELECT window_start, COUNT(*) FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(ts), INTERVAL '10' SECOND)) \
     GROUP BY window_start, window_end",
    "SELECT * FROM TABLE(SESSION(DATA => TABLE bid PARTITION BY (auction, bidder), \
     TIMECOL => DESCRIPTOR(ts), GAP => INTERVAL '5' MINUTE)) AS w (a, b)",
    // Parser bug: `PARTITION BY a, DESCRIPTOR(ts), …` without parentheses takes every
    // later argument into the partition list, so the single key is parenthesised here.
    "SELECT * FROM TABLE(HOP(TABLE (SELECT * FROM bid WHERE price > 10) PARTITION BY (auction), \
     DESCRIPTOR(ts, ts2), INTERVAL '2' SECOND, INTERVAL '10' SECOND))",
    "SELECT * FROM TABLE(CUMULATE(TABLE bid PARTITION BY auction))",
    // Parser limitation: `GROUPING SETS ((a), ())` is rejected (its list is an
    // `expr_list`, and `()` is no expression); `()` is accepted only as a GROUP BY item.
    "SELECT a, SUM(b) FROM t GROUP BY GROUPING SETS ((a, b), a), ROLLUP (a, b), CUBE (a), (), (a, b) \
     HAVING SUM(b) > 0",
    "SELECT * FROM t, LATERAL TABLE(split(t.s)) AS x (w)",
    "SELECT * FROM UNNEST(ARRAY[1, 2]) WITH ORDINALITY AS u (v, n)",
    "SELECT a FROM t WHERE a IN (SELECT b FROM u) AND NOT EXISTS (SELECT 1 FROM v WHERE v.x = t.a)",
    "SELECT (SELECT MAX(b) FROM u WHERE u.k = t.k) AS m, (WITH q AS (SELECT 1) SELECT * FROM q) FROM t",
    "SELECT a FROM t ORDER BY a ASC NULLS FIRST, b DESC FETCH FIRST 5 ROWS ONLY",
    "SELECT a FROM t LIMIT ALL",
    "SELECT a FROM t OFFSET 3 ROWS FETCH NEXT ROW ONLY",
    "SELECT SUM(x) OVER (PARTITION BY a, b ORDER BY ts ROWS BETWEEN 5 PRECEDING AND CURRENT ROW), \
     COUNT(*) OVER (ORDER BY ts RANGE BETWEEN INTERVAL '1' HOUR PRECEDING AND CURRENT ROW), \
     AVG(x) OVER (ROWS UNBOUNDED PRECEDING), \
     MIN(x) OVER (ORDER BY ts DESC ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING), \
     MAX(x) OVER (RANGE BETWEEN CURRENT ROW AND 2 + 3 FOLLOWING), LAG(x) OVER w, ROW_NUMBER() OVER () \
     FROM t",
    "SELECT COUNT(DISTINCT a) FILTER (WHERE b > 1), COUNT(ALL a), count(*) FILTER (WHERE c) FROM t",
    "SELECT `a``b`.`from` AS `group`, 'it''s', '' FROM `a``b`",
];

/// Expressions covering every expression form.
const EXPRESSIONS: &[&str] = &[
    "CASE WHEN a > 1 THEN 'x' WHEN a IS NULL THEN NULL ELSE 'z' END",
    "CASE a WHEN 1 THEN 'one' WHEN 2 THEN 'two' END",
    "CAST(a AS ROW<x INT, y ARRAY<MAP<STRING, DECIMAL(10, 2) NOT NULL>>>)",
    "TRY_CAST(s AS TIMESTAMP(3) WITH LOCAL TIME ZONE) IS NULL",
    "CAST(x AS INTERVAL DAY)",
    "EXTRACT(YEAR FROM ts) + EXTRACT(isodow FROM ts)",
    "FLOOR(ts TO HOUR) < CEIL(ts TO DAY) AND CEILING(ts TO minutes) = FLOOR(x)",
    "TRIM(BOTH ' ' FROM s) || TRIM(LEADING FROM s) || TRIM(s FROM t) || TRIM(FROM s) || TRIM(TRAILING 'x' FROM s)",
    "SUBSTRING(s FROM 2 FOR 3) || SUBSTRING(s FROM 2) || SUBSTRING(s, 1, 2)",
    "POSITION('a' || b IN s)",
    "ROW(1, 'a', NULL) = (1, 2) OR ROW() IS NULL",
    "ARRAY[1, 2, 3][1] + CARDINALITY(ARRAY[]) + MAP['a', 1, 'b', 2]['a']",
    "a IN (1, 2, 3) AND a NOT IN ('x') AND a IN (SELECT b FROM t) AND a NOT IN (VALUES (1))",
    "EXISTS (SELECT 1)",
    "a IS DISTINCT FROM b + 1 OR a IS NOT DISTINCT FROM b",
    "a BETWEEN SYMMETRIC 10 AND 1 AND a NOT BETWEEN ASYMMETRIC b - 1 AND b + 1 AND a BETWEEN -1 AND 1",
    "s LIKE 'a%' ESCAPE '\\' OR s NOT LIKE '%x%' OR s SIMILAR TO '[ab]+' OR s NOT SIMILAR TO 'x' ESCAPE '!'",
    "NOT a AND NOT b OR c",
    "-a * +b - -c",
    "INTERVAL '1' DAY + INTERVAL '1 02:03:04' DAY TO SECOND + INTERVAL -'5' MINUTE + INTERVAL 3 HOURS",
    "INTERVAL '10' SECOND(3) + INTERVAL '1-2' YEAR(2) TO MONTH",
    "DATE '2024-01-01' < TIMESTAMP '2024-01-01 00:00:00' OR TIME '12:00:00' = TIMESTAMP_LTZ '2024-01-01 00:00:00'",
    "X'0AFF' || x''",
    "a.b.c = `we``ird`.`select`",
    "1.5e3 + .5 + 42 + 1E-2 + 7.",
    "arr[1].f + (r).f.g + f(x).y[2]",
    "a || b || 'c'",
    "a % 2 = 0 AND a <> b AND a != b AND a <= b AND a >= b AND a < b AND a > b AND a / 2 * 3 = 1",
    "x IS TRUE AND x IS NOT FALSE AND x IS UNKNOWN AND x IS NOT NULL AND x IS NOT UNKNOWN AND x IS NOT TRUE",
    "(SELECT 1) + (SELECT MAX(x) FROM t)",
    "TUMBLE_START(ts, INTERVAL '1' MINUTE)",
    "COUNT(DISTINCT a, b) FILTER (WHERE a > 0) OVER (PARTITION BY c)",
    "LEFT(s, 2) || RIGHT(s, 2) || IF(a, b, c)",
    "'it''s' || '' || ''''",
    "a = NOT b",
    "a IS NULL IS NOT NULL",
    "x BETWEEN 1 AND 2 IS TRUE",
    "a + b IS NULL AND c",
    "NOT (a = b)",
];

/// Parenthesised forms: the parentheses are kept (as `Nested`), and are needed.
const PRECEDENCE: &[&str] = &[
    "a - (b - c)",
    "(a OR b) AND c",
    "-(a + b)",
    "(a + b).f",
    "a * (b + c)",
    "a = (b = c)",
    "a / (b * c)",
    "(a || b) + c",
    "a = (b IS NULL)",
    "(NOT a) IS NULL",
    "-(a IS NULL)",
    "(a BETWEEN 1 AND 2) + 1",
    "(a LIKE 'x') || 'y'",
    "x BETWEEN (a = b) AND c",
    "x LIKE (a OR b)",
    "(a IS DISTINCT FROM b)[1]",
    "(a AND b) IS NULL",
];

#[test]
fn statements_roundtrip() {
    for text in STATEMENTS {
        roundtrip_file(text, text);
    }
    // All statements in one file, the Flink SQL client's statement-set syntax too.
    let mut file = STATEMENTS.join(";\n");
    file += ";\nBEGIN STATEMENT SET;\nINSERT INTO a SELECT 1;\nEND;\nBEGIN STATEMENT SET;\nEND;\nSELECT 1;";
    let parsed = parse_file("all", &file);
    assert_eq!(parsed.statements.len(), STATEMENTS.len() + 3);
    roundtrip_file("all", &file);
}

#[test]
fn expressions_roundtrip() {
    for text in EXPRESSIONS.iter().chain(PRECEDENCE) {
        roundtrip_expr(text);
    }
}

/// Without its `Nested` nodes, each precedence case still prints with exactly the
/// parentheses it was written with: the printer adds them where they are needed.
#[test]
fn printer_adds_needed_parentheses() {
    for text in PRECEDENCE {
        let mut e = parse_expr_ok(text);
        strip_nested(&mut e);
        assert_eq!(e.to_string(), *text);
        check_meaning(&e);
    }
    // And leaves out the ones that are not needed.
    let minimal = [
        ("NOT (a = b)", "NOT a = b"),
        ("(a * b) + c", "a * b + c"),
        ("(a) IS NULL", "a IS NULL"),
        ("(a = b) = c", "a = b = c"),
        ("(a IS NULL) = b", "a IS NULL = b"),
        ("(a LIKE 'x') = TRUE", "a LIKE 'x' = TRUE"),
        ("NOT (NOT a)", "NOT NOT a"),
        ("-(-a)", "- -a"),
        ("(a - b) - c", "a - b - c"),
    ];
    for (text, minimal) in minimal {
        let mut e = parse_expr_ok(text);
        strip_nested(&mut e);
        assert_eq!(e.to_string(), minimal);
        check_meaning(&e);
    }
}

#[test]
fn identifiers_are_quoted_when_needed() {
    let ident = |name: &str, quoted| Ident { name: name.into(), quoted, span: Span::default() };
    let e = Expr {
        kind: ExprKind::Identifier(vec![
            ident("select", false),
            ident("a`b", false),
            ident("x", true),
            ident("ok_1$", false),
            ident("1a", false),
        ]),
        span: Span::default(),
    };
    assert_eq!(e.to_string(), "`select`.`a``b`.`x`.ok_1$.`1a`");
}

fn is_identifier(text: &str) -> bool {
    matches!(parse_expr(text).map(|e| e.kind), Ok(ExprKind::Identifier(_)))
}

/// The printer quotes exactly the words of the grammar's `reserved` rule (and a name
/// in that position then reads back).
#[test]
fn reserved_words_follow_the_grammar() {
    let grammar = include_str!("../../grammar/src/dfl.pest");
    let rule = grammar.split("\nreserved = {").nth(1).expect("a reserved rule");
    let rule = &rule[..rule.find('}').expect("end of the reserved rule")];
    let words: Vec<&str> =
        rule.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter_map(|w| w.strip_prefix("kw_")).collect();
    assert!(words.len() > 50, "{words:?}");
    for word in words {
        let e = Expr { kind: ExprKind::Identifier(vec![id(word, false)]), span: Span::default() };
        assert_eq!(e.to_string(), format!("`{word}`"));
        assert!(!is_identifier(word), "{word} reads as a plain identifier");
    }
    for word in ["comment", "watermark", "key", "symmetric", "map", "date", "value", "timestamp"] {
        let e = Expr { kind: ExprKind::Identifier(vec![id(word, false)]), span: Span::default() };
        assert_eq!(e.to_string(), word);
        assert!(is_identifier(word), "{word} does not read as an identifier");
    }
}

#[test]
fn queries_print_one_clause_per_line() {
    let text = "insert into s select a, count(*) as n from (select a from t where b > 1) as x \
                join u on x.a = u.a where a > 0 group by a having count(*) > 1 order by n desc limit 3";
    let expected = "\
INSERT INTO s
SELECT a, count(*) AS n
FROM (
  SELECT a
  FROM t
  WHERE b > 1
) AS x
JOIN u ON x.a = u.a
WHERE a > 0
GROUP BY a
HAVING count(*) > 1
ORDER BY n DESC
LIMIT 3;
";
    assert_eq!(roundtrip_file("layout", text), expected);

    let text = "select case when a = 1 then 'one' when a = 2 then 'two' when a = 3 then 'three' else 'many' end as n \
                from t where a > 0 and b is null and c like 'x%' and d between 1 and 10 and e <> 'a long constant'";
    let expected = "\
SELECT
  CASE
    WHEN a = 1 THEN 'one'
    WHEN a = 2 THEN 'two'
    WHEN a = 3 THEN 'three'
    ELSE 'many'
  END AS n
FROM t
WHERE
  a > 0
  AND b IS NULL
  AND c LIKE 'x%'
  AND d BETWEEN 1 AND 10
  AND e <> 'a long constant';
";
    assert_eq!(roundtrip_file("long layout", text), expected);
}

// -------------------------------------------------------------------------------------
// Property: random expression trees (without `Nested`) print so that they parse back to
// the same tree once the parentheses the printer added are removed.

/// Removes every `Nested` node of an expression (not inside subqueries).
fn strip_nested(e: &mut Expr) {
    while let ExprKind::Nested(inner) = &mut e.kind {
        let inner =
            std::mem::replace(inner.as_mut(), Expr { kind: ExprKind::Literal(Literal::Null), span: Span::default() });
        *e = inner;
    }
    let one = |x: &mut Box<Expr>| strip_nested(x);
    match &mut e.kind {
        ExprKind::Unary { expr, .. }
        | ExprKind::Is { expr, .. }
        | ExprKind::Cast { expr, .. }
        | ExprKind::Extract { expr, .. }
        | ExprKind::FloorCeil { expr, .. }
        | ExprKind::Field { expr, .. }
        | ExprKind::InSubquery { expr, .. } => one(expr),
        ExprKind::Binary { left, right, .. } | ExprKind::IsDistinctFrom { left, right, .. } => {
            one(left);
            one(right);
        }
        ExprKind::Position { needle, haystack } => {
            one(needle);
            one(haystack);
        }
        ExprKind::Index { expr, index } => {
            one(expr);
            one(index);
        }
        ExprKind::Between { expr, low, high, .. } => {
            one(expr);
            one(low);
            one(high);
        }
        ExprKind::Like { expr, pattern, .. } => {
            one(expr);
            one(pattern);
        }
        ExprKind::InList { expr, list, .. } => {
            one(expr);
            list.iter_mut().for_each(strip_nested);
        }
        ExprKind::Row(xs) | ExprKind::Array(xs) | ExprKind::Map(xs) => xs.iter_mut().for_each(strip_nested),
        ExprKind::Case { operand, whens, else_ } => {
            operand.iter_mut().for_each(one);
            for (w, t) in whens {
                strip_nested(w);
                strip_nested(t);
            }
            else_.iter_mut().for_each(one);
        }
        ExprKind::Trim { chars, expr, .. } => {
            chars.iter_mut().for_each(one);
            one(expr);
        }
        ExprKind::Substring { expr, from, len } => {
            one(expr);
            one(from);
            len.iter_mut().for_each(one);
        }
        ExprKind::Function(f) => {
            f.args.iter_mut().for_each(strip_nested);
            f.filter.iter_mut().for_each(strip_nested);
        }
        _ => {}
    }
}

/// `e` (without `Nested`) prints as text that parses back to `e`, parentheses aside.
fn check_meaning(e: &Expr) {
    let printed = e.to_string();
    let mut back = parse_expr(&printed).unwrap_or_else(|d| panic!("printed {printed:?} does not parse: {d:#?}"));
    strip_nested(&mut back);
    assert_same(e, &back, "generated expression", &printed);
}

fn ex(kind: ExprKind) -> Expr {
    Expr { kind, span: Span::default() }
}

fn bx(kind: ExprKind) -> Box<Expr> {
    Box::new(ex(kind))
}

fn id(name: &str, quoted: bool) -> Ident {
    Ident { name: name.to_string(), quoted, span: Span::default() }
}

fn leaf() -> impl Strategy<Value = Expr> {
    let names = prop::sample::select(vec![
        vec![id("a", false)],
        vec![id("price", false)],
        vec![id("t", false), id("x1", false)],
        vec![id("select", true)],
        vec![id("we`ird name", true)],
        vec![id("b", true), id("c", false)],
    ]);
    let numbers = prop::sample::select(vec!["0", "1", "42", "1.5", ".5", "2e3", "1E-2", "7."]);
    let strings = prop::sample::select(vec!["", "abc", "it's", "''", "%_"]);
    prop_oneof![
        names.prop_map(|n| ex(ExprKind::Identifier(n))),
        numbers.prop_map(|n| ex(ExprKind::Literal(Literal::Number(n.into())))),
        strings.prop_map(|s| ex(ExprKind::Literal(Literal::String(s.into())))),
        prop::sample::select(vec![Literal::Null, Literal::Boolean(true), Literal::Boolean(false)])
            .prop_map(|l| ex(ExprKind::Literal(l))),
    ]
}

fn simple_type() -> impl Strategy<Value = DataType> {
    let named = |name: &str, params: Vec<u64>, time_zone| DataType {
        kind: DataTypeKind::Named { name: name.into(), suffix: None, params, time_zone },
        span: Span::default(),
    };
    prop::sample::select(vec![
        named("INT", vec![], None),
        named("STRING", vec![], None),
        named("DECIMAL", vec![10, 2], None),
        named("TIMESTAMP", vec![3], None),
        named("TIMESTAMP", vec![3], Some(TimeZoneSpec::WithLocal)),
        named("BOOLEAN", vec![], None),
    ])
}

fn expression() -> impl Strategy<Value = Expr> {
    use BinaryOp::*;
    let binary_ops = vec![Or, And, Eq, NotEq, Lt, LtEq, Gt, GtEq, Concat, Plus, Minus, Multiply, Divide, Modulo];
    leaf().prop_recursive(5, 48, 3, move |inner| {
        let ops = binary_ops.clone();
        let strlit = prop::sample::select(vec!["!", "\\", "'"])
            .prop_map(|s| StrLit { value: s.into(), span: Span::default() });
        let test = prop::sample::select(vec![IsTest::Null, IsTest::True, IsTest::False, IsTest::Unknown]);
        let fname = prop::sample::select(vec!["f", "coalesce", "my_fn", "LEFT"]);
        prop_oneof![
            3 => (prop::sample::select(ops), inner.clone(), inner.clone())
                .prop_map(|(op, l, r)| ex(ExprKind::Binary { op, left: Box::new(l), right: Box::new(r) })),
            1 => (prop::sample::select(vec![UnaryOp::Not, UnaryOp::Neg, UnaryOp::Plus]), inner.clone())
                .prop_map(|(op, x)| ex(ExprKind::Unary { op, expr: Box::new(x) })),
            1 => (inner.clone(), test, any::<bool>())
                .prop_map(|(x, test, negated)| ex(ExprKind::Is { expr: Box::new(x), test, negated })),
            1 => (inner.clone(), inner.clone(), any::<bool>()).prop_map(|(l, r, negated)| {
                ex(ExprKind::IsDistinctFrom { left: Box::new(l), right: Box::new(r), negated })
            }),
            1 => (inner.clone(), inner.clone(), inner.clone(), any::<bool>(), any::<bool>()).prop_map(
                |(x, low, high, negated, symmetric)| ex(ExprKind::Between {
                    expr: Box::new(x), low: Box::new(low), high: Box::new(high), negated, symmetric,
                })
            ),
            1 => (inner.clone(), prop::collection::vec(inner.clone(), 1..3), any::<bool>())
                .prop_map(|(x, list, negated)| ex(ExprKind::InList { expr: Box::new(x), list, negated })),
            1 => (inner.clone(), inner.clone(), prop::option::of(strlit), any::<bool>(), any::<bool>()).prop_map(
                |(x, p, escape, negated, similar)| ex(ExprKind::Like {
                    expr: Box::new(x), pattern: Box::new(p), escape, negated, similar,
                })
            ),
            1 => (
                prop::option::of(inner.clone()),
                prop::collection::vec((inner.clone(), inner.clone()), 1..3),
                prop::option::of(inner.clone()),
            )
                .prop_map(|(operand, whens, else_)| ex(ExprKind::Case {
                    operand: operand.map(Box::new), whens, else_: else_.map(Box::new),
                })),
            1 => (inner.clone(), simple_type(), any::<bool>())
                .prop_map(|(x, ty, try_)| ex(ExprKind::Cast { expr: Box::new(x), ty, try_ })),
            1 => (inner.clone(), inner.clone()).prop_map(|(x, i)| ex(ExprKind::Index { expr: Box::new(x), index: Box::new(i) })),
            1 => (fname, prop::collection::vec(inner.clone(), 0..3), any::<bool>(), any::<bool>()).prop_map(
                |(name, args, distinct, star)| ex(ExprKind::Function(Box::new(FunctionCall {
                    name: id(name, false),
                    distinct: distinct && !args.is_empty(),
                    star: star && args.is_empty(),
                    args,
                    filter: None,
                    over: None,
                })))
            ),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(256)
    })]

    #[test]
    fn printed_expressions_keep_their_meaning(e in expression()) {
        check_meaning(&e);
    }
}

/// Hand-made trees whose shape the parser only builds with parentheses.
#[test]
fn hand_made_trees_get_parentheses() {
    let a = || ex(ExprKind::Identifier(vec![id("a", false)]));
    let b = || ex(ExprKind::Identifier(vec![id("b", false)]));
    let between = ex(ExprKind::Between {
        expr: Box::new(a()),
        low: Box::new(a()),
        high: Box::new(b()),
        negated: false,
        symmetric: false,
    });
    let cases = [
        (
            ExprKind::Binary { op: BinaryOp::Plus, left: Box::new(between.clone()), right: Box::new(b()) },
            "(a BETWEEN a AND b) + b",
        ),
        (ExprKind::Field { expr: Box::new(between.clone()), field: id("f", false) }, "(a BETWEEN a AND b).f"),
        (ExprKind::Field { expr: bx(ExprKind::Literal(Literal::Number("1".into()))), field: id("f", false) }, "(1).f"),
        (
            ExprKind::Unary { op: UnaryOp::Neg, expr: bx(ExprKind::Unary { op: UnaryOp::Neg, expr: Box::new(a()) }) },
            "- -a",
        ),
        (
            ExprKind::Binary {
                op: BinaryOp::Minus,
                left: Box::new(a()),
                right: bx(ExprKind::Unary { op: UnaryOp::Neg, expr: Box::new(b()) }),
            },
            "a - -b",
        ),
        (
            ExprKind::Like {
                expr: Box::new(a()),
                pattern: bx(ExprKind::Unary { op: UnaryOp::Not, expr: Box::new(b()) }),
                escape: None,
                negated: false,
                similar: false,
            },
            "a LIKE (NOT b)",
        ),
    ];
    for (kind, text) in cases {
        let e = ex(kind);
        assert_eq!(e.to_string(), text);
        let mut back = parse_expr_ok(text);
        strip_nested(&mut back);
        assert_same(&e, &back, text, text);
    }
}

// -------------------------------------------------------------------------------------
// Regression tests for parser bugs these round trips found (all fixed).

/// `convert.rs` (`postfix`) takes `negated` from the first child of `is_test`, which is
/// `IS`, never `NOT`: `x IS NOT NULL` reads as `x IS NULL`, and `IS NOT DISTINCT FROM`
/// as `IS DISTINCT FROM`.
#[test]
fn parser_keeps_is_not() {
    for text in ["x IS NOT NULL", "x IS NOT TRUE", "a IS NOT DISTINCT FROM b"] {
        assert_eq!(parse_expr_ok(text).to_string(), text);
    }
}

/// `named_type` matches `PRECISION`/`VARYING` as bare literals, which make no pair, so
/// the converter never sets `suffix`: `DOUBLE PRECISION` reads as `DOUBLE`, and
/// `CHARACTER VARYING(3)` as `CHARACTER(3)`.
#[test]
fn parser_keeps_type_suffix() {
    let text = "CAST(x AS DOUBLE PRECISION)";
    assert_eq!(parse_expr_ok(text).to_string(), text);
}

/// A table argument's unparenthesised `PARTITION BY a, …` takes every later argument
/// (`DESCRIPTOR(ts)` as a function call, the intervals) into the partition list.
#[test]
fn parser_ends_tvf_partition_at_the_next_argument() {
    let file = parse_file(
        "tvf",
        "SELECT * FROM TABLE(HOP(TABLE bid PARTITION BY auction, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '2' SECOND))",
    );
    let printed = file.to_string();
    assert!(
        printed.contains("TABLE bid PARTITION BY (auction),") && printed.contains("  DESCRIPTOR(ts),"),
        "{printed}"
    );
}

/// The splitter opens a statement set on `EXECUTE STATEMENT SET BEGIN` and closes it only
/// at a later chunk that starts with `END`: a set whose `END` is in the same chunk
/// (`BEGIN END`, or no `;` after the last INSERT) swallows the rest of the file. (The
/// printer writes an empty set as `BEGIN STATEMENT SET; END` to avoid it.)
#[test]
fn parser_closes_statement_set_in_the_same_chunk() {
    for text in [
        "EXECUTE STATEMENT SET BEGIN END; SELECT 1",
        "EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT 1 END; SELECT 2",
    ] {
        assert_eq!(parse_file(text, text).statements.len(), 2, "{text}");
    }
}
