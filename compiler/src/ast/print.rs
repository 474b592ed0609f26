//! Printing the AST back as SQL that parses to the same tree (spans aside).
//!
//! Keywords are upper-case; identifiers are backquoted when they were written so or
//! must be; queries put one clause per line and indent subqueries. Expressions get
//! parentheses only where the parser's precedence would otherwise build another tree:
//! a parsed tree already holds a `Nested` node wherever the user wrote parentheses, and
//! printing more of them would add `Nested` nodes on the next parse.

use super::*;
use crate::parser::expr::{infix_precedence, prec};
use std::fmt::{self, Display, Formatter};

/// The words the grammar's `reserved` rule lists: never printed as plain identifiers.
#[rustfmt::skip]
const RESERVED: &[&str] = &[
    "select", "from", "where", "group", "having", "order", "limit", "offset", "fetch", "union",
    "intersect", "except", "minus", "all", "distinct", "as", "on", "using", "join", "inner",
    "left", "right", "full", "outer", "cross", "natural", "lateral", "unnest", "table", "create",
    "insert", "into", "values", "with", "and", "or", "not", "is", "null", "true", "false",
    "between", "in", "like", "similar", "escape", "case", "when", "then", "else", "end", "cast",
    "try_cast", "extract", "interval", "over", "filter", "exists", "array", "multiset", "row",
    "partition", "for", "window", "match_recognize",
];

/// One level of indentation.
const INDENT: &str = "  ";
/// A list longer than this is printed one item per line.
const LINE_WIDTH: usize = 80;

fn pad(ind: usize) -> String {
    INDENT.repeat(ind)
}

fn join<T>(items: &[T], f: impl Fn(&T) -> String) -> String {
    items.iter().map(f).collect::<Vec<_>>().join(", ")
}

/// `KEYWORD a, b, c` on one line when short, else one item per line, indented.
fn clause(keyword: &str, items: Vec<String>, ind: usize) -> String {
    let one_line: usize = items.iter().map(|i| i.len() + 2).sum::<usize>() + keyword.len();
    if one_line <= LINE_WIDTH && !items.iter().any(|i| i.contains('\n')) {
        format!("{keyword} {}", items.join(", "))
    } else {
        let sep = format!(",\n{}", pad(ind + 1));
        format!("{keyword}\n{}{}", pad(ind + 1), items.join(&sep))
    }
}

/// `(` query `)` with the query indented one level deeper.
fn block(q: &Query, ind: usize) -> String {
    format!("(\n{}{}\n{})", pad(ind + 1), query(q, ind + 1), pad(ind))
}

/// `word` if `yes`, else nothing.
fn kw(yes: bool, word: &'static str) -> &'static str {
    if yes { word } else { "" }
}

/// `f` of the value if there is one, else nothing.
fn opt<T>(o: &Option<T>, f: impl FnOnce(&T) -> String) -> String {
    o.as_ref().map(f).unwrap_or_default()
}

fn quote_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `Display` through a printer that takes the indentation level.
macro_rules! display_at_zero {
    ($($ty:ty => $print:ident),* $(,)?) => {$(
        impl Display for $ty {
            fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
                f.write_str(&$print(self, 0))
            }
        }
    )*};
}

display_at_zero!(
    Expr => expr,
    FunctionCall => function_call,
    WindowSpec => window,
    Frame => frame_text,
    OrderItem => order_item,
    Query => query,
    SetExpr => set_expr,
    Select => select_text,
    SelectItem => select_item,
    GroupItem => group_item,
    TableRef => table_ref,
    Insert => insert,
    TvfArg => tvf_arg,
    DataType => data_type,
);

// -------------------------------------------------------------------------------------
// Names, literals, types

fn is_plain(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        && !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name))
}

impl Display for Ident {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.quoted || !is_plain(&self.name) {
            write!(f, "`{}`", self.name.replace('`', "``"))
        } else {
            f.write_str(&self.name)
        }
    }
}

fn idents(parts: &[Ident], sep: &str) -> String {
    parts.iter().map(Ident::to_string).collect::<Vec<_>>().join(sep)
}

impl Display for ObjectName {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(&idents(&self.parts, "."))
    }
}

impl Display for StrLit {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(&quote_str(&self.value))
    }
}

impl Display for TimeUnit {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        // The variant names are the keywords: `IsoDow` is ISODOW.
        f.write_str(&format!("{self:?}").to_uppercase())
    }
}

impl Display for IntervalLiteral {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let sign = kw(self.negative, "-");
        let value = if self.quoted { quote_str(&self.value) } else { self.value.clone() };
        write!(f, "INTERVAL {sign}{value} {}", self.unit)?;
        if let Some(p) = self.precision {
            write!(f, "({p})")?;
        }
        if let Some(to) = self.to {
            write!(f, " TO {to}")?;
        }
        Ok(())
    }
}

impl Display for Literal {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Null => f.write_str("NULL"),
            Literal::Boolean(b) => f.write_str(if *b { "TRUE" } else { "FALSE" }),
            Literal::Number(n) => f.write_str(n),
            Literal::String(s) => f.write_str(&quote_str(s)),
            Literal::Binary(hex) => write!(f, "X'{hex}'"),
            Literal::Date(s) => write!(f, "DATE {}", quote_str(s)),
            Literal::Time(s) => write!(f, "TIME {}", quote_str(s)),
            Literal::Timestamp(s) => write!(f, "TIMESTAMP {}", quote_str(s)),
            Literal::TimestampLtz(s) => write!(f, "TIMESTAMP_LTZ {}", quote_str(s)),
            Literal::Interval(i) => i.fmt(f),
        }
    }
}

fn not_null(yes: bool) -> &'static str {
    kw(yes, " NOT NULL")
}

/// A type; a long `ROW<…>` puts one field per line.
fn data_type(t: &DataType, ind: usize) -> String {
    match &t.kind {
        DataTypeKind::Named { name, suffix, params, time_zone } => {
            let mut s = name.clone();
            if let Some(suffix) = suffix {
                s += &format!(" {suffix}");
            }
            if !params.is_empty() {
                s += &format!("({})", join(params, u64::to_string));
            }
            s + match time_zone {
                Some(TimeZoneSpec::WithLocal) => " WITH LOCAL TIME ZONE",
                Some(TimeZoneSpec::Without) => " WITHOUT TIME ZONE",
                None => "",
            }
        }
        DataTypeKind::Row(fields) => {
            let field = |r: &RowField, ind| {
                let comment = opt(&r.comment, |c| format!(" {c}"));
                format!("{} {}{}{comment}", r.name, data_type(&r.ty, ind), not_null(r.not_null))
            };
            let one_line = format!("ROW<{}>", join(fields, |r| field(r, ind)));
            if one_line.len() <= LINE_WIDTH || fields.is_empty() {
                return one_line;
            }
            let sep = format!(",\n{}", pad(ind + 1));
            let fields: Vec<String> = fields.iter().map(|r| field(r, ind + 1)).collect();
            format!("ROW<\n{}{}\n{}>", pad(ind + 1), fields.join(&sep), pad(ind))
        }
        DataTypeKind::Array { element, not_null: n } => format!("ARRAY<{}{}>", data_type(element, ind), not_null(*n)),
        DataTypeKind::Multiset { element, not_null: n } => {
            format!("MULTISET<{}{}>", data_type(element, ind), not_null(*n))
        }
        DataTypeKind::Map { key, key_not_null, value, value_not_null } => format!(
            "MAP<{}{}, {}{}>",
            data_type(key, ind),
            not_null(*key_not_null),
            data_type(value, ind),
            not_null(*value_not_null)
        ),
        DataTypeKind::Interval { unit, to } => match to {
            Some(to) => format!("INTERVAL {unit} TO {to}"),
            None => format!("INTERVAL {unit}"),
        },
    }
}

// -------------------------------------------------------------------------------------
// Expressions
//
// The parser folds a flat operand/operator sequence with a stack: an infix operator of
// precedence p first reduces the pending operators of precedence >= p, a postfix one
// (IS, BETWEEN, .field, …) those of precedence > p, a prefix one (NOT, -) none. So a
// printed expression is described, from outside, by its `Shape`, and its parent adds
// parentheses exactly when that shape would let the re-parse regroup it.

#[derive(Clone, Copy)]
struct Shape {
    /// The weakest pending operator to the left that the expression's own operators
    /// would reduce (one of precedence >= `left` is taken in); `u8::MAX`: none.
    left: u8,
    /// The weakest of its operators still pending at its end (an operator to the right
    /// must reduce all of them).
    right: u8,
    /// Ends with the `arith_expr` of BETWEEN, LIKE or IS DISTINCT FROM, which would take
    /// in a following arithmetic operator or `.field`/`[i]`.
    tail: bool,
    /// Is an `arith_expr` (arithmetic, `||`, unary sign, access only).
    arith: bool,
}

const fn shape(left: u8, right: u8, tail: bool, arith: bool) -> Shape {
    Shape { left, right, tail, arith }
}

const ATOM: Shape = shape(u8::MAX, u8::MAX, false, true);

struct Out {
    text: String,
    shape: Shape,
}

fn out(text: String, shape: Shape) -> Out {
    Out { text, shape }
}

fn atom(text: String) -> Out {
    out(text, ATOM)
}

impl Display for BinaryOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

/// A full expression (`expr` in the grammar).
fn expr(e: &Expr, ind: usize) -> String {
    operand(e, ind, false, |_| false).text
}

/// An expression where the grammar reads an `arith_expr` (BETWEEN bounds, LIKE pattern…).
fn arith(e: &Expr, ind: usize) -> String {
    operand(e, ind, true, |_| false).text
}

/// `KEYWORD condition` (WHERE, HAVING, ON). When long, a chain of AND (or of OR) puts
/// each operand on its own line; only whitespace differs from `expr`.
fn condition(keyword: &str, e: &Expr, ind: usize) -> String {
    let text = expr(e, ind);
    let op = match &e.kind {
        ExprKind::Binary { op, .. } if matches!(op, BinaryOp::And | BinaryOp::Or) => *op,
        _ => return format!("{keyword} {text}"),
    };
    if text.len() <= LINE_WIDTH && !text.contains('\n') {
        return format!("{keyword} {text}");
    }
    let p = infix_precedence(op);
    let mut parts = Vec::new();
    let mut node = e;
    loop {
        match &node.kind {
            ExprKind::Binary { op: o, left, right } if *o == op => {
                parts.push(operand(right, ind + 1, false, |s| s.left <= p).text);
                node = left;
            }
            _ => break,
        }
    }
    parts.push(operand(node, ind + 1, false, |s| s.right < p).text);
    parts.reverse();
    let nl = format!("\n{}", pad(ind + 1));
    format!("{keyword}{nl}{}", parts.join(&format!("{nl}{op} ")))
}

/// `e` as part of an enclosing sequence; parenthesised if `wrap` says its shape needs
/// it, or if an `arith_expr` is required and it is not one.
fn operand(e: &Expr, ind: usize, arith: bool, wrap: impl FnOnce(&Shape) -> bool) -> Out {
    let out = shaped(e, ind, arith);
    if wrap(&out.shape) || (arith && !out.shape.arith) { atom(format!("({})", out.text)) } else { out }
}

/// `x <suffix>` for a postfix operator of precedence `p`.
fn postfix(x: &Expr, ind: usize, arith: bool, p: u8, suffix: String, tail: bool) -> Out {
    let access = p == prec::ACCESS;
    // `1.f` does not lex as a number followed by `.f`. (`.f` after an identifier reads
    // back as a longer identifier, which is how the parser writes that: same meaning.)
    let number = matches!(x.kind, ExprKind::Literal(Literal::Number(_)));
    let x =
        operand(x, ind, arith && access, |s| s.right <= p || (access && s.tail) || (number && suffix.starts_with('.')));
    let shape = shape(x.shape.left.min(p + 1), u8::MAX, tail, access);
    out(format!("{}{suffix}", x.text), shape)
}

fn negated(n: bool) -> &'static str {
    kw(n, " NOT")
}

fn shaped(e: &Expr, ind: usize, in_arith: bool) -> Out {
    match &e.kind {
        ExprKind::Binary { op, left, right } => {
            let p = infix_precedence(*op);
            let is_arith = p >= prec::CONCAT;
            let a = in_arith && is_arith;
            let l = operand(left, ind, a, |s| s.right < p || (s.tail && is_arith));
            let r = operand(right, ind, a, |s| s.left <= p);
            let shape = shape(l.shape.left.min(p), r.shape.right.min(p), r.shape.tail, is_arith);
            out(format!("{} {op} {}", l.text, r.text), shape)
        }
        ExprKind::Unary { op, expr } => {
            let (q, sign) = match op {
                UnaryOp::Not => (prec::NOT, "NOT "),
                UnaryOp::Neg => (prec::UNARY, "-"),
                UnaryOp::Plus => (prec::UNARY, "+"),
            };
            let is_arith = *op != UnaryOp::Not;
            let x = operand(expr, ind, in_arith && is_arith, |s| s.left <= q);
            // `- -a`, never `--a` (a comment).
            let space = kw(x.text.starts_with('-') && *op == UnaryOp::Neg, " ");
            let shape = shape(u8::MAX, x.shape.right.min(q), x.shape.tail, is_arith);
            out(format!("{sign}{space}{}", x.text), shape)
        }
        ExprKind::Is { expr, test, negated: n } => {
            let test = match test {
                IsTest::Null => "NULL",
                IsTest::True => "TRUE",
                IsTest::False => "FALSE",
                IsTest::Unknown => "UNKNOWN",
            };
            let suffix = format!(" IS{} {test}", negated(*n));
            postfix(expr, ind, in_arith, prec::IS, suffix, false)
        }
        ExprKind::IsDistinctFrom { left, right, negated: n } => {
            let suffix = format!(" IS{} DISTINCT FROM {}", negated(*n), arith(right, ind));
            postfix(left, ind, in_arith, prec::IS, suffix, true)
        }
        ExprKind::Between { expr, low, high, negated: n, symmetric } => {
            let sym = if *symmetric { " SYMMETRIC" } else { "" };
            let suffix = format!("{} BETWEEN{sym} {} AND {}", negated(*n), arith(low, ind), arith(high, ind));
            postfix(expr, ind, in_arith, prec::PREDICATE, suffix, true)
        }
        ExprKind::InList { expr, list, negated: n } => {
            let list = join(list, |x| self::expr(x, ind));
            let suffix = format!("{} IN ({list})", negated(*n));
            postfix(expr, ind, in_arith, prec::PREDICATE, suffix, false)
        }
        ExprKind::InSubquery { expr, query, negated: n } => {
            let suffix = format!("{} IN {}", negated(*n), block(query, ind));
            postfix(expr, ind, in_arith, prec::PREDICATE, suffix, false)
        }
        ExprKind::Like { expr, pattern, escape, negated: n, similar } => {
            let kw = if *similar { "SIMILAR TO" } else { "LIKE" };
            let esc = opt(escape, |s| format!(" ESCAPE {s}"));
            let suffix = format!("{} {kw} {}{esc}", negated(*n), arith(pattern, ind));
            let tail = escape.is_none();
            postfix(expr, ind, in_arith, prec::PREDICATE, suffix, tail)
        }
        ExprKind::Field { expr, field } => postfix(expr, ind, in_arith, prec::ACCESS, format!(".{field}"), false),
        ExprKind::Index { expr, index } => {
            let suffix = format!("[{}]", self::expr(index, ind));
            postfix(expr, ind, in_arith, prec::ACCESS, suffix, false)
        }
        _ => atom(closed(e, ind)),
    }
}

/// An expression that is a single operand: it needs no parentheses anywhere.
fn closed(e: &Expr, ind: usize) -> String {
    let list = |xs: &[Expr]| join(xs, |x| expr(x, ind));
    match &e.kind {
        ExprKind::Literal(l) => l.to_string(),
        ExprKind::Identifier(parts) => idents(parts, "."),
        ExprKind::Case { operand, whens, else_ } => {
            // On one line if short, else one WHEN per line.
            let case = |ind: usize, nl: &str| {
                let mut s = String::from("CASE");
                if let Some(o) = operand {
                    s += &format!(" {}", expr(o, ind));
                }
                for (when, then) in whens {
                    s += &format!("{nl}WHEN {} THEN {}", expr(when, ind), expr(then, ind));
                }
                if let Some(x) = else_ {
                    s += &format!("{nl}ELSE {}", expr(x, ind));
                }
                s
            };
            let one_line = case(ind, " ");
            if one_line.len() <= LINE_WIDTH && !one_line.contains('\n') {
                one_line + " END"
            } else {
                let lines = case(ind + 1, &format!("\n{}", pad(ind + 1)));
                format!("{lines}\n{}END", pad(ind))
            }
        }
        ExprKind::Cast { expr: x, ty, try_ } => {
            let (x, ty) = (expr(x, ind), data_type(ty, ind));
            format!("{}CAST({x} AS {ty})", kw(*try_, "TRY_"))
        }
        ExprKind::Extract { unit, expr: x } => format!("EXTRACT({unit} FROM {})", expr(x, ind)),
        ExprKind::FloorCeil { ceil, expr: x, unit } => {
            let name = if *ceil { "CEIL" } else { "FLOOR" };
            format!("{name}({} TO {unit})", expr(x, ind))
        }
        ExprKind::Trim { side, chars, expr: x } => {
            let side = match side {
                TrimSide::Both => "BOTH",
                TrimSide::Leading => "LEADING",
                TrimSide::Trailing => "TRAILING",
            };
            let chars = opt(chars, |c| format!(" {}", expr(c, ind)));
            format!("TRIM({side}{chars} FROM {})", expr(x, ind))
        }
        ExprKind::Substring { expr: x, from, len } => {
            let len = opt(len, |l| format!(" FOR {}", expr(l, ind)));
            format!("SUBSTRING({} FROM {}{len})", expr(x, ind), expr(from, ind))
        }
        ExprKind::Position { needle, haystack } => {
            let (needle, haystack) = (arith(needle, ind), expr(haystack, ind));
            format!("POSITION({needle} IN {haystack})")
        }
        ExprKind::Function(call) => function_call(call, ind),
        ExprKind::Row(xs) => format!("ROW({})", list(xs)),
        ExprKind::Array(xs) => format!("ARRAY[{}]", list(xs)),
        ExprKind::Map(xs) => format!("MAP[{}]", list(xs)),
        ExprKind::Exists(q) => format!("EXISTS {}", block(q, ind)),
        // A subquery must start with SELECT, WITH or VALUES to be read as one.
        ExprKind::Subquery(q) => block(q, ind),
        ExprKind::Nested(x) => format!("({})", expr(x, ind)),
        // Operators: only reached through `closed` for a hand-made call; print grouped.
        _ => format!("({})", shaped(e, ind, false).text),
    }
}

fn function_call(c: &FunctionCall, ind: usize) -> String {
    // The grammar reads a function name as a bare word: it cannot be quoted.
    let distinct = kw(c.distinct, "DISTINCT ");
    let args = if c.star { "*".into() } else { join(&c.args, |x| expr(x, ind)) };
    let mut s = format!("{}({distinct}{args})", c.name.name);
    if let Some(filter) = &c.filter {
        s += &format!(" FILTER (WHERE {})", expr(filter, ind));
    }
    match &c.over {
        Some(Over::Window(w)) => s += &format!(" OVER {}", window(w, ind)),
        Some(Over::Named(name)) => s += &format!(" OVER {name}"),
        None => {}
    }
    s
}

fn window(w: &WindowSpec, ind: usize) -> String {
    let mut parts = Vec::new();
    if !w.partition_by.is_empty() {
        let list = join(&w.partition_by, |x| expr(x, ind));
        parts.push(format!("PARTITION BY {list}"));
    }
    if !w.order_by.is_empty() {
        let list = join(&w.order_by, |o| order_item(o, ind));
        parts.push(format!("ORDER BY {list}"));
    }
    if let Some(frame) = &w.frame {
        parts.push(frame_text(frame, ind));
    }
    format!("({})", parts.join(" "))
}

fn frame_text(frame: &Frame, ind: usize) -> String {
    let bound = |b: &FrameBound| match b {
        FrameBound::UnboundedPreceding => "UNBOUNDED PRECEDING".to_string(),
        FrameBound::UnboundedFollowing => "UNBOUNDED FOLLOWING".to_string(),
        FrameBound::CurrentRow => "CURRENT ROW".to_string(),
        FrameBound::Preceding(x) => format!("{} PRECEDING", arith(x, ind)),
        FrameBound::Following(x) => format!("{} FOLLOWING", arith(x, ind)),
    };
    let kind = if frame.rows { "ROWS" } else { "RANGE" };
    match &frame.end {
        Some(end) => format!("{kind} BETWEEN {} AND {}", bound(&frame.start), bound(end)),
        None => format!("{kind} {}", bound(&frame.start)),
    }
}

fn order_item(o: &OrderItem, ind: usize) -> String {
    let desc = kw(o.desc, " DESC");
    let nulls = match o.nulls_first {
        Some(true) => " NULLS FIRST",
        Some(false) => " NULLS LAST",
        None => "",
    };
    format!("{}{desc}{nulls}", expr(&o.expr, ind))
}

// -------------------------------------------------------------------------------------
// Queries. Each printer returns text whose first line starts where the caller stands
// and whose further lines are indented `ind` levels.

fn query(q: &Query, ind: usize) -> String {
    let nl = format!("\n{}", pad(ind));
    let mut s = String::new();
    for (i, cte) in q.with.iter().enumerate() {
        s += if i == 0 { "WITH " } else { "," };
        if i > 0 {
            s += &nl;
        }
        s += &cte.name.to_string();
        if !cte.columns.is_empty() {
            s += &format!(" ({})", idents(&cte.columns, ", "));
        }
        s += &format!(" AS {}", block(&cte.query, ind));
    }
    if !q.with.is_empty() {
        s += &nl;
    }
    s += &set_expr(&q.body, ind);
    if !q.order_by.is_empty() {
        let items = q.order_by.iter().map(|o| order_item(o, ind + 1)).collect();
        s += &format!("{nl}{}", clause("ORDER BY", items, ind));
    }
    if let Some(limit) = &q.limit {
        s += &format!("{nl}LIMIT {}", expr(limit, ind));
    }
    if let Some(offset) = &q.offset {
        s += &format!("{nl}OFFSET {}", expr(offset, ind));
    }
    s
}

fn set_expr(s: &SetExpr, ind: usize) -> String {
    match s {
        SetExpr::Select(select) => select_text(select, ind),
        SetExpr::Values { rows, .. } => {
            let rows = rows.iter().map(|r| format!("({})", join(r, |x| expr(x, ind + 1))));
            let rows = rows.collect();
            clause("VALUES", rows, ind)
        }
        SetExpr::Query(q) => block(q, ind),
        SetExpr::SetOp { op, all, left, right, .. } => {
            let op = match op {
                SetOp::Union => "UNION",
                SetOp::Intersect => "INTERSECT",
                SetOp::Except => "EXCEPT",
            };
            let all = kw(*all, " ALL");
            // Set operators fold to the left: a right operand that is one is grouped.
            let right = match right.as_ref() {
                SetExpr::SetOp { .. } => {
                    let right = set_expr(right, ind + 1);
                    format!("(\n{}{right}\n{})", pad(ind + 1), pad(ind))
                }
                other => set_expr(other, ind),
            };
            let nl = format!("\n{}", pad(ind));
            format!("{}{nl}{op}{all}{nl}{right}", set_expr(left, ind))
        }
    }
}

fn select_text(s: &Select, ind: usize) -> String {
    let nl = format!("\n{}", pad(ind));
    let keyword = if s.distinct { "SELECT DISTINCT" } else { "SELECT" };
    let items = s.items.iter().map(|i| select_item(i, ind + 1)).collect();
    let mut out = clause(keyword, items, ind);
    match s.from.as_slice() {
        [] => {}
        [one] => out += &format!("{nl}FROM {}", table_ref(one, ind)),
        many => {
            let refs = many.iter().map(|t| table_ref(t, ind + 1)).collect();
            out += &format!("{nl}{}", clause("FROM", refs, ind));
        }
    }
    if let Some(w) = &s.selection {
        out += &format!("{nl}{}", condition("WHERE", w, ind));
    }
    if !s.group_by.is_empty() {
        let items = s.group_by.iter().map(|g| group_item(g, ind + 1)).collect();
        out += &format!("{nl}{}", clause("GROUP BY", items, ind));
    }
    if let Some(h) = &s.having {
        out += &format!("{nl}{}", condition("HAVING", h, ind));
    }
    if let Some((w, _)) = &s.window_clause {
        out += &format!("{nl}{w}");
    }
    out
}

fn select_item(item: &SelectItem, ind: usize) -> String {
    match item {
        SelectItem::Expr { expr: x, alias } => expr(x, ind) + &opt(alias, |a| format!(" AS {a}")),
        SelectItem::Wildcard(_) => "*".to_string(),
        SelectItem::QualifiedWildcard(name) => format!("{name}.*"),
    }
}

fn group_item(g: &GroupItem, ind: usize) -> String {
    match g {
        GroupItem::Expr(x) => group_expr(x, ind),
        GroupItem::Empty(_) => "()".to_string(),
        GroupItem::GroupingSets { kind, exprs, .. } => {
            format!("{kind} ({})", join(exprs, |x| group_expr(x, ind)))
        }
    }
}

/// In grouping sets, a row of columns is written as `(a, b)` (same tree as `ROW(a, b)`).
fn group_expr(e: &Expr, ind: usize) -> String {
    match &e.kind {
        ExprKind::Row(xs) if xs.len() > 1 => format!("({})", join(xs, |x| expr(x, ind))),
        _ => expr(e, ind),
    }
}

fn alias(a: &Option<TableAlias>) -> String {
    match a {
        None => String::new(),
        Some(a) if a.columns.is_empty() => format!(" AS {}", a.name),
        Some(a) => format!(" AS {} ({})", a.name, idents(&a.columns, ", ")),
    }
}

fn table_ref(t: &TableRef, ind: usize) -> String {
    match &t.kind {
        TableRefKind::Named { name, system_time, alias: a } => {
            let time = opt(system_time, |x| format!(" FOR SYSTEM_TIME AS OF {}", expr(x, ind)));
            format!("{name}{time}{}", alias(a))
        }
        TableRefKind::Subquery { query: q, alias: a } => format!("{}{}", block(q, ind), alias(a)),
        TableRefKind::Function { name, args, alias: a } => {
            // One argument per line when long.
            let args = match join(args, |x| tvf_arg(x, ind)) {
                one_line if one_line.len() <= LINE_WIDTH && !one_line.contains('\n') => one_line,
                _ => {
                    let nl = format!("\n{}", pad(ind + 1));
                    let args: Vec<_> = args.iter().map(|x| tvf_arg(x, ind + 1)).collect();
                    format!("{nl}{}\n{}", args.join(&format!(",{nl}")), pad(ind))
                }
            };
            format!("TABLE({}({args})){}", name.name, alias(a))
        }
        // Kept as written, alias included.
        TableRefKind::Unsupported { text, .. } => text.clone(),
        TableRefKind::Join { kind, natural, left, right, constraint } => {
            let natural = kw(*natural && *kind != JoinKind::Cross, "NATURAL ");
            let kind = match kind {
                JoinKind::Inner => "JOIN",
                JoinKind::Left => "LEFT JOIN",
                JoinKind::Right => "RIGHT JOIN",
                JoinKind::Full => "FULL JOIN",
                JoinKind::Cross => "CROSS JOIN",
            };
            // The grammar joins to the left only; a join on the right (never parsed)
            // prints flat.
            let constraint = match constraint {
                JoinConstraint::On(x) => format!(" {}", condition("ON", x, ind)),
                JoinConstraint::Using(cols) => format!(" USING ({})", idents(cols, ", ")),
                JoinConstraint::None => String::new(),
            };
            let (left, right) = (table_ref(left, ind), table_ref(right, ind));
            format!("{left}\n{}{natural}{kind} {right}{constraint}", pad(ind))
        }
    }
}

fn tvf_arg(a: &TvfArg, ind: usize) -> String {
    let name = opt(&a.name, |n| format!("{n} => "));
    let value = match &a.value {
        TvfArgValue::Table { source, partition_by } => {
            let source = match source {
                TvfTable::Named(n) => n.to_string(),
                TvfTable::Query(q) => block(q, ind),
            };
            // Parenthesised, so that the list does not run into the next argument.
            let part = if partition_by.is_empty() {
                String::new()
            } else {
                format!(" PARTITION BY ({})", join(partition_by, |x| expr(x, ind)))
            };
            format!("TABLE {source}{part}")
        }
        TvfArgValue::Descriptor(cols) => format!("DESCRIPTOR({})", idents(cols, ", ")),
        TvfArgValue::Expr(x) => expr(x, ind),
    };
    format!("{name}{value}")
}

// -------------------------------------------------------------------------------------
// Statements

impl Display for ColumnDef {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name)?;
        match &self.kind {
            ColumnKind::Physical { ty, not_null: n } => write!(f, " {}{}", data_type(ty, 1), not_null(*n))?,
            ColumnKind::Computed { expr: x } => write!(f, " AS {}", expr(x, 1))?,
            ColumnKind::Metadata { ty, key, is_virtual } => {
                write!(f, " {} METADATA", data_type(ty, 1))?;
                if let Some(k) = key {
                    write!(f, " FROM {k}")?;
                }
                if *is_virtual {
                    f.write_str(" VIRTUAL")?;
                }
            }
        }
        match &self.comment {
            Some(c) => write!(f, " COMMENT {c}"),
            None => Ok(()),
        }
    }
}

fn create_head(f: &mut Formatter<'_>, what: &str, temp: bool, ine: bool) -> fmt::Result {
    write!(f, "CREATE {}{what}{}", kw(temp, "TEMPORARY "), kw(ine, " IF NOT EXISTS"))
}

impl Display for CreateTable {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        create_head(f, "TABLE", self.temporary, self.if_not_exists)?;
        let mut elements: Vec<String> = self.columns.iter().map(ColumnDef::to_string).collect();
        for w in &self.watermark {
            let e = expr(&w.expr, 1);
            elements.push(format!("WATERMARK FOR {} AS {e}", w.column));
        }
        // An inline `PRIMARY KEY` is kept as a table constraint (and NOT NULL column).
        for pk in &self.primary_key {
            let ne = kw(pk.not_enforced, " NOT ENFORCED");
            elements.push(format!("PRIMARY KEY ({}){ne}", idents(&pk.columns, ", ")));
        }
        let elements = elements.join(&format!(",\n{INDENT}"));
        write!(f, " {} (\n{INDENT}{elements}\n)", self.name)?;
        if let Some(c) = &self.comment {
            write!(f, "\nCOMMENT {c}")?;
        }
        if !self.partitioned_by.is_empty() {
            write!(f, "\nPARTITIONED BY ({})", idents(&self.partitioned_by, ", "))?;
        }
        if !self.options.is_empty() {
            let options = self.options.iter().map(|o| format!("{} = {}", o.key, o.value));
            let options = options.collect::<Vec<_>>().join(&format!(",\n{INDENT}"));
            write!(f, "\nWITH (\n{INDENT}{options}\n)")?;
        }
        match &self.like {
            Some(like) => write!(f, "\nLIKE {like}"),
            None => Ok(()),
        }
    }
}

impl Display for CreateView {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        create_head(f, "VIEW", self.temporary, self.if_not_exists)?;
        write!(f, " {}", self.name)?;
        if !self.columns.is_empty() {
            write!(f, " ({})", idents(&self.columns, ", "))?;
        }
        write!(f, " AS\n{}", self.query)
    }
}

impl Display for CreateFunction {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        // The grammar has SYSTEM only after TEMPORARY.
        let what = if self.system { "SYSTEM FUNCTION" } else { "FUNCTION" };
        create_head(f, what, self.temporary || self.system, self.if_not_exists)?;
        write!(f, " {} AS {}", self.name, self.class)?;
        if let Some(lang) = &self.language {
            write!(f, " LANGUAGE {lang}")?;
        }
        if !self.jars.is_empty() {
            write!(f, " USING {}", join(&self.jars, |j| format!("JAR {j}")))?;
        }
        Ok(())
    }
}

fn insert(i: &Insert, ind: usize) -> String {
    let mode = if i.overwrite { "OVERWRITE" } else { "INTO" };
    let mut s = format!("INSERT {mode} {}", i.table);
    if !i.partition.is_empty() {
        let values = join(&i.partition, |(k, v)| format!("{k} = {}", expr(v, ind)));
        s += &format!(" PARTITION ({values})");
    }
    if !i.columns.is_empty() {
        s += &format!(" ({})", idents(&i.columns, ", "));
    }
    format!("{s}\n{}{}", pad(ind), query(&i.query, ind))
}

impl Display for StatementKind {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            StatementKind::CreateTable(t) => t.fmt(f),
            StatementKind::CreateView(v) => v.fmt(f),
            StatementKind::CreateFunction(c) => c.fmt(f),
            StatementKind::Insert(i) => i.fmt(f),
            // `EXECUTE STATEMENT SET BEGIN END` would not be split from the next statement.
            StatementKind::StatementSet(inserts) if inserts.is_empty() => f.write_str("BEGIN STATEMENT SET;\nEND"),
            StatementKind::StatementSet(inserts) => {
                f.write_str("EXECUTE STATEMENT SET\nBEGIN\n")?;
                for i in inserts {
                    writeln!(f, "{INDENT}{};", insert(i, 1))?;
                }
                f.write_str("END")
            }
            StatementKind::Set(None) => f.write_str("SET"),
            StatementKind::Set(Some((k, v))) => write!(f, "SET {k} = {v}"),
            StatementKind::Reset(None) => f.write_str("RESET"),
            StatementKind::Reset(Some(k)) => write!(f, "RESET {k}"),
            StatementKind::Query(q) => q.fmt(f),
            // Only the keyword is kept, which reads back as the same statement.
            StatementKind::Unsupported { keyword } => f.write_str(keyword),
        }
    }
}

impl Display for Statement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        self.kind.fmt(f)
    }
}

/// The statements, each ended by `;`, separated by a blank line.
impl Display for File {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for (i, s) in self.statements.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            writeln!(f, "{s};")?;
        }
        Ok(())
    }
}
