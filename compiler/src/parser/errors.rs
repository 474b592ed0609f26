//! pest's syntax errors → our diagnostics, in words a SQL user knows.

use crate::diagnostic::{Code, Diagnostic};
use crate::span::Span;
use dfl_grammar::Rule;
use pest::error::{ErrorVariant, InputLocation};

/// Converts a pest error on `input` (which starts at `offset` in the file).
pub fn from_pest(e: pest::error::Error<Rule>, input: &str, offset: usize) -> Diagnostic {
    let pos = match e.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let found = found_at(input, pos);
    let mut end = (pos + found.len().max(1)).min(input.len());
    while !input.is_char_boundary(end) {
        end += 1;
    }
    let span = Span::new(offset + pos.min(end), offset + end);
    let found_text = if found.is_empty() { "the end of the statement".to_string() } else { format!("`{found}`") };
    match e.variant {
        ErrorVariant::CustomError { message } if message.contains("call limit") => {
            Diagnostic::error(Code::TooComplex, "statement is too complex to parse")
                .at(span, "gave up here")
                .with_help("split the statement into smaller views")
        }
        ErrorVariant::CustomError { message } => {
            Diagnostic::error(Code::Syntax, format!("syntax error: {message}")).at(span, "here")
        }
        ErrorVariant::ParsingError { positives, .. } => {
            let expected = describe(&positives);
            let label = if expected.matches(", ").count() >= 2 {
                "unexpected here".to_string()
            } else {
                format!("expected {expected}")
            };
            let mut d =
                Diagnostic::error(Code::Syntax, format!("expected {expected}, found {found_text}")).at(span, label);
            if let Some(help) = help_for(&found, &positives) {
                d = d.with_help(help);
            } else if let Some((word, keyword)) = misspelt_keyword(input, pos) {
                d = d.with_help(format!("`{word}` looks like a misspelt `{keyword}`"));
            }
            d
        }
    }
}

/// The token at `pos`: a word, a quoted string's start, or one character.
fn found_at(input: &str, pos: usize) -> String {
    let rest = input.get(pos..).unwrap_or("");
    let rest = rest.trim_end_matches(|c: char| c == ';' || c.is_whitespace());
    let mut chars = rest.char_indices();
    match chars.next() {
        None => String::new(),
        Some((_, c)) if c.is_alphanumeric() || c == '_' => {
            let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$')).unwrap_or(rest.len());
            rest[..end].to_string()
        }
        Some((_, c)) => c.to_string(),
    }
}

/// Rules that can start an expression: many at once are summed up as "an expression".
fn starts_expression(rule: Rule) -> bool {
    use Rule::*;
    matches!(
        rule,
        expr | operand
            | prefix_op
            | arith_prefix
            | neg
            | pos
            | literal
            | number
            | string_lit
            | binary_lit
            | typed_lit
            | interval_lit
            | column_ref
            | function_call
            | function_name
            | cast_expr
            | case_expr
            | extract_expr
            | exists_expr
            | floor_ceil_expr
            | trim_expr
            | substring_expr
            | position_expr
            | row_ctor
            | array_ctor
            | map_ctor
            | paren_expr
            | paren_list
            | scalar_subquery
            | kw_not
            | kw_true
            | kw_false
            | kw_null
            | kw_case
            | kw_cast
            | kw_try_cast
            | kw_extract
            | kw_interval
            | kw_exists
            | kw_row
            | kw_array
            | kw_map
            | kw_date
            | kw_time
            | kw_timestamp
            | kw_timestamp_ltz
            | kw_floor
            | kw_ceil
            | kw_ceiling
            | kw_trim
            | kw_substring
            | kw_position
            | arith_expr
    )
}

/// A rule as a reader would name it.
fn name(rule: Rule) -> String {
    use Rule::*;
    let fixed = match rule {
        ident | plain_ident | quoted_ident | column_ref => "an identifier",
        object_name => "a table name",
        data_type | named_type | type_word | row_type | collection_type | map_type | interval_type => "a type",
        string_lit => "a string literal",
        number => "a number",
        time_unit | interval_qualifier => "a time unit (SECOND, MINUTE, HOUR, DAY, …)",
        statement => "a statement (CREATE TABLE, CREATE VIEW, INSERT INTO, SELECT, SET, …)",
        query | set_expr | set_term | select => "a query (SELECT …)",
        table_ref | table_primary | named_table => "a table reference",
        select_item => "a select item",
        infix_op | cmp_op | arith_infix => "an operator",
        postfix_op => "an operator",
        table_element | column_def => "a column definition",
        option_pair => "an option 'key' = 'value'",
        join_kind => "JOIN",
        comma => "`,`",
        set_op => "UNION",
        type_suffix => "PRECISION",
        type_params => "type parameters such as (10)",
        time_zone => "WITH LOCAL TIME ZONE",
        nullability => "NOT NULL",
        comment_clause => "COMMENT",
        with_options => "WITH (…)",
        partitioned_by => "PARTITIONED BY",
        like_clause => "LIKE",
        where_clause => "`WHERE`",
        group_by => "`GROUP BY`",
        having_clause => "`HAVING`",
        order_by => "`ORDER BY`",
        limit_clause => "`LIMIT`",
        table_alias => "an alias",
        join_clause => "a JOIN",
        over_clause => "OVER",
        filter_clause => "FILTER",
        tvf_arg => "a table function argument",
        EOI => "the end of the statement",
        _ => "",
    };
    if !fixed.is_empty() {
        return fixed.to_string();
    }
    let s = format!("{rule:?}");
    if let Some(kw) = s.strip_prefix("kw_") {
        return format!("`{}`", kw.to_uppercase());
    }
    s.replace('_', " ")
}

fn describe(positives: &[Rule]) -> String {
    let mut names: Vec<String> = Vec::new();
    let exprs = positives.iter().filter(|r| starts_expression(**r)).count();
    if exprs >= 1 {
        names.push("an expression".to_string());
    }
    for &r in positives {
        if starts_expression(r) {
            continue;
        }
        let n = name(r);
        if !n.is_empty() && !names.contains(&n) {
            names.push(n);
        }
    }
    if names.is_empty() {
        return "something else".to_string();
    }
    names.truncate(8);
    let plain: Vec<&str> = names.iter().map(String::as_str).collect();
    match plain.len() {
        1 => plain[0].to_string(),
        n => format!("{} or {}", plain[..n - 1].join(", "), plain[n - 1]),
    }
}

/// Keywords people misspell; a word one or two edits away from one gets a hint.
const KEYWORDS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP",
    "HAVING",
    "ORDER",
    "JOIN",
    "LEFT",
    "RIGHT",
    "INNER",
    "OUTER",
    "UNION",
    "INSERT",
    "INTO",
    "CREATE",
    "TABLE",
    "VIEW",
    "WITH",
    "WATERMARK",
    "DISTINCT",
    "BETWEEN",
    "LIMIT",
    "WINDOW",
];

/// The word just before `pos`, if it looks like a misspelt keyword.
pub(super) fn misspelt_keyword(input: &str, pos: usize) -> Option<(String, &'static str)> {
    let before = input.get(..pos)?.trim_end();
    let start = before.rfind(|c: char| !(c.is_alphanumeric() || c == '_')).map_or(0, |i| i + 1);
    let word = &before[start..];
    if word.len() < 3 || KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word)) {
        return None;
    }
    let upper = word.to_ascii_uppercase();
    KEYWORDS.iter().find(|k| crate::diagnostic::edit_distance(&upper, k) == 1).map(|k| (word.to_string(), *k))
}

/// Hints for the mistakes people make most.
fn help_for(found: &str, positives: &[Rule]) -> Option<String> {
    let lower = found.to_ascii_lowercase();
    let reserved = [
        "select",
        "from",
        "where",
        "group",
        "having",
        "order",
        "limit",
        "table",
        "values",
        "partition",
        "row",
        "end",
        "case",
        "window",
        "offset",
        "all",
        "for",
        "on",
        "in",
        "is",
        "as",
    ];
    let wants_ident = positives.iter().any(|r| {
        matches!(
            r,
            Rule::ident
                | Rule::plain_ident
                | Rule::column_ref
                | Rule::table_element
                | Rule::column_def
                | Rule::object_name
        )
    });
    if wants_ident && reserved.contains(&lower.as_str()) {
        return Some(format!("`{found}` is a reserved word; quote it as `` `{found}` `` to use it as a name"));
    }
    if found == "\"" {
        return Some("string literals use single quotes ('text'); identifiers may be quoted with backquotes".into());
    }
    None
}
