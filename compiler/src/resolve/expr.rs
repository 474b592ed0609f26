//! Expressions: binding names to input columns, typing operators and functions, and —
//! in aggregate queries — turning aggregate calls and grouped expressions into
//! references to the aggregate's output.

use super::Resolver;
use super::datatype::resolve_type;
use super::literal;
use super::scope::{Lookup, Scope};
use crate::ast::{self, BinaryOp, ExprKind as A, IsTest, UnaryOp};
use crate::catalog::functions::{self, ArgError, FunctionKind};
use crate::diagnostic::{Code, Diagnostic, did_you_mean, list_names};
use crate::hir::{AggregateCall, Expr, ExprKind, OverCall, OverFrame, SortKey, TimeAttribute, Value};
use crate::span::Span;
use crate::types::{Type, TypeKind, common_type};

/// What an expression may contain where it stands.
pub struct Ctx<'a> {
    pub scope: &'a Scope,
    /// The clause, for messages: "WHERE", "GROUP BY", "a computed column", …
    pub clause: &'static str,
    /// In the SELECT list and HAVING of an aggregate query.
    pub agg: Option<AggState>,
    /// Where OVER is allowed (the SELECT list): the calls found so far.
    pub over: Option<Vec<OverCall>>,
}

/// The state of an aggregate query while its SELECT list and HAVING are resolved.
pub struct AggState {
    /// The GROUP BY expressions (over the FROM scope).
    pub group: Vec<Expr>,
    /// A legacy group window (`TUMBLE`, `HOP`, `SESSION`) and its arguments as written.
    pub window: Option<GroupWindow>,
    pub calls: Vec<AggregateCall>,
}

pub struct GroupWindow {
    /// `TUMBLE`, `HOP` or `SESSION`.
    pub function: String,
    pub args: Vec<ast::Expr>,
    pub time: Option<TimeAttribute>,
    pub time_type: Type,
}

impl AggState {
    /// Output position of the first aggregate.
    pub fn aggregates_base(&self) -> usize {
        self.group.len() + if self.window.is_some() { 3 } else { 0 }
    }
}

impl<'a> Ctx<'a> {
    pub fn plain(scope: &'a Scope, clause: &'static str) -> Self {
        Ctx { scope, clause, agg: None, over: None }
    }
}

/// Resolves and types `e` in `ctx`; `None` after reporting if it is not valid.
pub fn resolve_expr(r: &mut Resolver, e: &ast::Expr, ctx: &mut Ctx<'_>) -> Option<Expr> {
    if ctx.agg.is_some()
        && !contains_aggregate(r, e)
        && let Some(found) = grouped(r, e, ctx)
    {
        return found;
    }
    resolve_node(r, e, ctx)
}

/// Inside an aggregate query: an expression equal to a GROUP BY item is a reference to
/// it; a column outside GROUP BY is an error. `None`: look inside.
fn grouped(r: &mut Resolver, e: &ast::Expr, ctx: &mut Ctx<'_>) -> Option<Option<Expr>> {
    let scope = ctx.scope;
    let clause = ctx.clause;
    let (plain, failed) = r.quietly(|r| resolve_node(r, e, &mut Ctx::plain(scope, clause)));
    let agg = ctx.agg.as_ref()?;
    if let (Some(x), false) = (&plain, failed) {
        if let Some(i) = agg.group.iter().position(|g| g == x) {
            return Some(Some(Expr::column(i, x.ty.clone())));
        }
        let mut cols = Vec::new();
        x.columns(&mut cols);
        if cols.is_empty() {
            return Some(plain);
        }
        if let A::Identifier(parts) = &e.kind {
            let name = parts.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(".");
            r.report(
                Diagnostic::error(Code::NotGrouped, format!("column `{name}` is neither grouped nor aggregated"))
                    .at(e.span, "not in GROUP BY")
                    .with_help(format!("add `{name}` to GROUP BY, or use it inside an aggregate such as MAX({name})")),
            );
            return Some(None);
        }
    }
    None
}

/// Whether `e` has an aggregate call (or group-window property) outside any OVER.
fn contains_aggregate(r: &Resolver, e: &ast::Expr) -> bool {
    if let A::Function(f) = &e.kind {
        if f.over.is_none() && r.is_rust_aggregate(&f.name.name) {
            return true;
        }
        if f.over.is_none()
            && let Some(info) = functions::lookup(&f.name.name)
            && matches!(info.kind, FunctionKind::Aggregate | FunctionKind::GroupWindowProperty)
        {
            return true;
        }
        if f.over.is_some() {
            return false;
        }
    }
    e.children().into_iter().any(|c| contains_aggregate(r, c))
}

fn err(r: &mut Resolver, d: Diagnostic) -> Option<Expr> {
    r.report(d);
    None
}

fn lit(value: Value, ty: Type) -> Expr {
    Expr { kind: ExprKind::Literal(value), ty }
}

fn any_nullable(args: &[&Expr]) -> bool {
    args.iter().any(|a| a.ty.nullable)
}

fn resolve_node(r: &mut Resolver, e: &ast::Expr, ctx: &mut Ctx<'_>) -> Option<Expr> {
    let span = e.span;
    match &e.kind {
        A::Literal(l) => match literal::literal(l) {
            Ok((v, ty)) => Some(lit(v, ty)),
            Err(message) => err(r, Diagnostic::error(Code::InvalidLiteral, message).at(span, "invalid literal")),
        },
        A::Identifier(parts) => identifier(r, parts, span, ctx),
        A::Nested(inner) => resolve_expr(r, inner, ctx),
        A::Unary { op, expr } => {
            let x = resolve_expr(r, expr, ctx)?;
            match op {
                UnaryOp::Not => {
                    expect_boolean(r, &x, expr.span, "NOT")?;
                    let ty = Type::boolean().with_nullable(x.ty.nullable);
                    Some(Expr::call("NOT", vec![x], ty))
                }
                UnaryOp::Neg | UnaryOp::Plus => {
                    if !(x.ty.is_numeric() || x.ty.is_interval() || x.ty.is_null()) {
                        return err(
                            r,
                            mismatch(span, format!("unary minus needs a number or an interval, not {}", x.ty)),
                        );
                    }
                    if *op == UnaryOp::Plus {
                        return Some(x);
                    }
                    let ty = x.ty.clone();
                    Some(Expr::call("NEGATE", vec![x], ty))
                }
            }
        }
        A::Binary { op, left, right } => {
            let l = resolve_expr(r, left, ctx);
            let rr = resolve_expr(r, right, ctx);
            binary(r, *op, l?, rr?, left.span, right.span, span)
        }
        A::Is { expr, test, negated } => {
            let x = resolve_expr(r, expr, ctx)?;
            let name = match test {
                IsTest::Null => "IS NULL",
                IsTest::True => "IS TRUE",
                IsTest::False => "IS FALSE",
                IsTest::Unknown => "IS UNKNOWN",
            };
            if *test != IsTest::Null {
                expect_boolean(r, &x, expr.span, name)?;
            }
            let call = Expr::call(name, vec![x], Type::not_null(TypeKind::Boolean));
            Some(if *negated { Expr::call("NOT", vec![call], Type::not_null(TypeKind::Boolean)) } else { call })
        }
        A::IsDistinctFrom { left, right, negated } => {
            let l = resolve_expr(r, left, ctx)?;
            let rr = resolve_expr(r, right, ctx)?;
            comparable(r, &l, &rr, span)?;
            let name = if *negated { "IS NOT DISTINCT FROM" } else { "IS DISTINCT FROM" };
            Some(Expr::call(name, vec![l, rr], Type::not_null(TypeKind::Boolean)))
        }
        A::Between { expr, low, high, negated, symmetric } => {
            let x = resolve_expr(r, expr, ctx);
            let lo = resolve_expr(r, low, ctx);
            let hi = resolve_expr(r, high, ctx);
            let (x, lo, hi) = (x?, lo?, hi?);
            comparable(r, &x, &lo, low.span)?;
            comparable(r, &x, &hi, high.span)?;
            let ty = Type::boolean().with_nullable(any_nullable(&[&x, &lo, &hi]));
            let name = match (negated, symmetric) {
                (false, false) => "BETWEEN",
                (true, false) => "NOT BETWEEN",
                (false, true) => "BETWEEN SYMMETRIC",
                (true, true) => "NOT BETWEEN SYMMETRIC",
            };
            Some(Expr::call(name, vec![x, lo, hi], ty))
        }
        A::InList { expr, list, negated } => {
            let x = resolve_expr(r, expr, ctx);
            let items: Vec<Option<Expr>> = list.iter().map(|i| resolve_expr(r, i, ctx)).collect();
            let x = x?;
            let mut args = vec![x];
            for (item, ast_item) in items.into_iter().zip(list) {
                let item = item?;
                comparable(r, &args[0], &item, ast_item.span)?;
                args.push(item);
            }
            let ty = Type::boolean().with_nullable(args.iter().any(|a| a.ty.nullable));
            Some(Expr::call(if *negated { "NOT IN" } else { "IN" }, args, ty))
        }
        A::InSubquery { expr, .. } => {
            let _ = resolve_expr(r, expr, ctx);
            // Not resolved: a correlated subquery would only add errors about its outer names.
            err(r, subquery_unsupported(span, "IN (SELECT …)"))
        }
        A::Exists(_) => {
            // Not resolved: a correlated subquery would only add errors about its outer names.
            err(r, subquery_unsupported(span, "EXISTS (SELECT …)"))
        }
        A::Subquery(_) => {
            // Not resolved: a correlated subquery would only add errors about its outer names.
            err(r, subquery_unsupported(span, "a scalar subquery"))
        }
        A::Like { expr, pattern, escape, negated, similar } => {
            let x = resolve_expr(r, expr, ctx);
            let p = resolve_expr(r, pattern, ctx);
            let (x, p) = (x?, p?);
            for (v, s) in [(&x, expr.span), (&p, pattern.span)] {
                if !(v.ty.is_string() || v.ty.is_null()) {
                    return err(r, mismatch(s, format!("LIKE works on strings, not {}", v.ty)));
                }
            }
            if let Some(esc) = escape
                && esc.value.chars().count() != 1
            {
                return err(
                    r,
                    Diagnostic::error(Code::InvalidLiteral, "the ESCAPE character must be a single character")
                        .at(esc.span, "not one character"),
                );
            }
            let mut args = vec![x, p];
            if let Some(esc) = escape {
                args.push(lit(Value::String(esc.value.clone()), Type::not_null(TypeKind::Char(1))));
            }
            let name = match (negated, similar) {
                (false, false) => "LIKE",
                (true, false) => "NOT LIKE",
                (false, true) => "SIMILAR TO",
                (true, true) => "NOT SIMILAR TO",
            };
            let ty = Type::boolean().with_nullable(args.iter().any(|a| a.ty.nullable));
            Some(Expr::call(name, args, ty))
        }
        A::Case { operand, whens, else_ } => case(r, operand.as_deref(), whens, else_.as_deref(), span, ctx),
        A::Cast { expr, ty, try_ } => {
            let x = resolve_expr(r, expr, ctx)?;
            let target = resolve_type(r, ty, true)?;
            if !x.ty.casts_to(&target) {
                return err(
                    r,
                    Diagnostic::error(Code::InvalidCast, format!("cannot cast {} to {target}", x.ty))
                        .at(span, "impossible cast")
                        .with_help(
                            "use a conversion function such as TO_TIMESTAMP, DATE_FORMAT or CAST through STRING",
                        ),
                );
            }
            let nullable = x.ty.nullable || *try_;
            Some(Expr { kind: ExprKind::Cast { expr: Box::new(x), try_: *try_ }, ty: target.with_nullable(nullable) })
        }
        A::Extract { unit, expr } => {
            let x = resolve_expr(r, expr, ctx)?;
            if !(x.ty.is_datetime() || x.ty.is_interval() || x.ty.is_null()) {
                return err(
                    r,
                    mismatch(expr.span, format!("EXTRACT needs a date, time, timestamp or interval, not {}", x.ty)),
                );
            }
            let ty = Type::bigint().with_nullable(x.ty.nullable);
            Some(Expr {
                kind: ExprKind::TimeUnitCall { function: "EXTRACT".into(), unit: *unit, expr: Box::new(x) },
                ty,
            })
        }
        A::FloorCeil { ceil, expr, unit } => {
            let x = resolve_expr(r, expr, ctx)?;
            if !(x.ty.is_datetime() || x.ty.is_null()) {
                return err(
                    r,
                    mismatch(
                        expr.span,
                        format!(
                            "{} … TO needs a date, time or timestamp, not {}",
                            if *ceil { "CEIL" } else { "FLOOR" },
                            x.ty
                        ),
                    ),
                );
            }
            let ty = x.ty.clone();
            let function = if *ceil { "CEIL" } else { "FLOOR" }.to_string();
            Some(Expr { kind: ExprKind::TimeUnitCall { function, unit: *unit, expr: Box::new(x) }, ty })
        }
        A::Trim { side, chars, expr } => {
            let x = resolve_expr(r, expr, ctx)?;
            let c = match chars {
                Some(c) => resolve_expr(r, c, ctx)?,
                None => lit(Value::String(" ".into()), Type::not_null(TypeKind::Char(1))),
            };
            for (v, s) in [(&x, expr.span), (&c, chars.as_ref().map_or(span, |c| c.span))] {
                if !(v.ty.is_string() || v.ty.is_null()) {
                    return err(r, mismatch(s, format!("TRIM works on strings, not {}", v.ty)));
                }
            }
            let name = match side {
                ast::TrimSide::Both => "TRIM",
                ast::TrimSide::Leading => "LTRIM",
                ast::TrimSide::Trailing => "RTRIM",
            };
            let ty = Type::string().with_nullable(x.ty.nullable || c.ty.nullable);
            Some(Expr::call(name, vec![x, c], ty))
        }
        A::Substring { expr, from, len } => {
            let mut args = vec![(resolve_expr(r, expr, ctx)?, expr.span), (resolve_expr(r, from, ctx)?, from.span)];
            if let Some(l) = len {
                args.push((resolve_expr(r, l, ctx)?, l.span));
            }
            builtin(r, "SUBSTRING", args, span)
        }
        A::Position { needle, haystack } => {
            let args =
                vec![(resolve_expr(r, needle, ctx)?, needle.span), (resolve_expr(r, haystack, ctx)?, haystack.span)];
            builtin(r, "LOCATE", args, span)
        }
        A::Function(f) => function(r, f, span, ctx),
        A::Field { expr, field } => {
            let x = resolve_expr(r, expr, ctx)?;
            field_access(r, x, field)
        }
        A::Index { expr, index } => {
            let x = resolve_expr(r, expr, ctx)?;
            let i = resolve_expr(r, index, ctx)?;
            let ty = match &x.ty.kind {
                TypeKind::Array(el) if i.ty.is_integer() || i.ty.is_null() => el.as_ref().clone(),
                TypeKind::Map(k, v) if i.ty.implicitly_casts_to(k) => v.as_ref().clone(),
                TypeKind::Array(_) => {
                    return err(r, mismatch(index.span, format!("an ARRAY index must be an integer, not {}", i.ty)));
                }
                TypeKind::Map(k, _) => {
                    return err(r, mismatch(index.span, format!("this MAP's keys are {k}, not {}", i.ty)));
                }
                _ => {
                    return err(
                        r,
                        mismatch(expr.span, format!("only ARRAY and MAP values can be indexed, not {}", x.ty)),
                    );
                }
            };
            Some(Expr::call("ITEM", vec![x, i], ty.with_nullable(true)))
        }
        A::Row(items) => {
            let mut fields = Vec::new();
            let mut args = Vec::new();
            for (n, item) in items.iter().enumerate() {
                let x = resolve_expr(r, item, ctx)?;
                fields.push(crate::types::Field { name: format!("EXPR${n}"), ty: x.ty.clone() });
                args.push(x);
            }
            Some(Expr::call("ROW", args, Type::not_null(TypeKind::Row(fields))))
        }
        A::Array(items) => {
            let args = items.iter().map(|i| resolve_expr(r, i, ctx)).collect::<Option<Vec<_>>>()?;
            let element = common_of(r, &args, items, "ARRAY elements")?;
            Some(Expr::call("ARRAY", args, Type::not_null(TypeKind::Array(Box::new(element)))))
        }
        A::Map(items) => {
            if items.len() % 2 != 0 {
                return err(
                    r,
                    Diagnostic::error(Code::WrongArgumentCount, "MAP[…] needs key, value pairs")
                        .at(span, "odd number of items"),
                );
            }
            let args = items.iter().map(|i| resolve_expr(r, i, ctx)).collect::<Option<Vec<_>>>()?;
            let keys: Vec<Expr> = args.iter().step_by(2).cloned().collect();
            let values: Vec<Expr> = args.iter().skip(1).step_by(2).cloned().collect();
            let key_asts: Vec<ast::Expr> = items.iter().step_by(2).cloned().collect();
            let value_asts: Vec<ast::Expr> = items.iter().skip(1).step_by(2).cloned().collect();
            let k = common_of(r, &keys, &key_asts, "MAP keys")?;
            let v = common_of(r, &values, &value_asts, "MAP values")?;
            Some(Expr::call("MAP", args, Type::not_null(TypeKind::Map(Box::new(k), Box::new(v)))))
        }
    }
}

fn subquery_unsupported(span: Span, what: &str) -> Diagnostic {
    Diagnostic::error(Code::UnsupportedFeature, format!("{what} in an expression is not supported yet"))
        .at(span, "subquery")
        .with_help("rewrite it as a JOIN")
}

fn mismatch(span: Span, message: String) -> Diagnostic {
    Diagnostic::error(Code::TypeMismatch, message).at(span, "wrong type")
}

fn expect_boolean(r: &mut Resolver, x: &Expr, span: Span, what: &str) -> Option<()> {
    if x.ty.is_boolean() || x.ty.is_null() {
        return Some(());
    }
    r.report(mismatch(span, format!("{what} needs a BOOLEAN operand, not {}", x.ty)));
    None
}

/// Checks that a condition (WHERE, HAVING, ON, FILTER, WHEN) is BOOLEAN.
pub fn expect_condition(r: &mut Resolver, x: &Expr, span: Span, clause: &str) -> Option<()> {
    if x.ty.is_boolean() || x.ty.is_null() {
        return Some(());
    }
    r.report(
        Diagnostic::error(Code::NotBoolean, format!("the condition of {clause} must be BOOLEAN, not {}", x.ty))
            .at(span, "not a condition")
            .with_help("compare it with something, e.g. `x = 1` or `x IS NOT NULL`"),
    );
    None
}

fn comparable(r: &mut Resolver, a: &Expr, b: &Expr, span: Span) -> Option<()> {
    if a.ty.comparable_with(&b.ty) {
        return Some(());
    }
    r.report(
        Diagnostic::error(Code::TypeMismatch, format!("cannot compare {} with {}", a.ty, b.ty))
            .at(span, "incompatible types")
            .with_help("CAST one side to the other's type"),
    );
    None
}

fn common_of(r: &mut Resolver, values: &[Expr], asts: &[ast::Expr], what: &str) -> Option<Type> {
    let mut ty = Type::null();
    for (v, a) in values.iter().zip(asts) {
        match common_type(&ty, &v.ty) {
            Some(t) => ty = t,
            None => {
                r.report(
                    Diagnostic::error(Code::NoCommonType, format!("{what} have no common type: {ty} and {}", v.ty))
                        .at(a.span, format!("this is {}", v.ty)),
                );
                return None;
            }
        }
    }
    Some(ty)
}

fn binary(r: &mut Resolver, op: BinaryOp, l: Expr, rr: Expr, ls: Span, rs: Span, span: Span) -> Option<Expr> {
    use BinaryOp::*;
    let nullable = l.ty.nullable || rr.ty.nullable;
    let symbol = op.symbol();
    let ty = match op {
        Or | And => {
            expect_boolean(r, &l, ls, symbol)?;
            expect_boolean(r, &rr, rs, symbol)?;
            Type::boolean().with_nullable(nullable)
        }
        Eq | NotEq | Lt | LtEq | Gt | GtEq => {
            comparable(r, &l, &rr, span)?;
            Type::boolean().with_nullable(nullable)
        }
        Concat => {
            let ok = |t: &Type| t.is_string() || t.is_binary() || t.is_null();
            if !ok(&l.ty) || !ok(&rr.ty) {
                return err(
                    r,
                    Diagnostic::error(Code::TypeMismatch, format!("|| joins strings, not {} and {}", l.ty, rr.ty))
                        .at(span, "not strings")
                        .with_help("CAST the operands to STRING first"),
                );
            }
            Type::string().with_nullable(nullable)
        }
        Plus | Minus | Multiply | Divide | Modulo => match arithmetic(op, &l.ty, &rr.ty) {
            Some(t) => t.with_nullable(nullable || op == Divide || op == Modulo),
            None => {
                return err(
                    r,
                    Diagnostic::error(Code::TypeMismatch, format!("cannot apply `{symbol}` to {} and {}", l.ty, rr.ty))
                        .at(span, "incompatible operands")
                        .with_help("arithmetic works on numbers, and on timestamps and dates plus or minus intervals"),
                );
            }
        },
    };
    Some(Expr::call(symbol, vec![l, rr], ty))
}

/// The result type of arithmetic, as Flink types it.
fn arithmetic(op: BinaryOp, a: &Type, b: &Type) -> Option<Type> {
    use BinaryOp::*;
    use TypeKind::*;
    if a.is_null() && b.is_null() {
        return Some(Type::null());
    }
    if (a.is_numeric() || a.is_null()) && (b.is_numeric() || b.is_null()) {
        // With one DECIMAL and one integer, the integer counts as DECIMAL(digits, 0).
        let as_decimal = |t: &Type| match t.kind {
            Decimal { precision, scale } => Some((precision, scale)),
            TinyInt => Some((3, 0)),
            SmallInt => Some((5, 0)),
            Int => Some((10, 0)),
            BigInt => Some((19, 0)),
            _ => None,
        };
        let decimal = matches!(a.kind, Decimal { .. }) || matches!(b.kind, Decimal { .. });
        if let (true, Some((p1, s1)), Some((p2, s2))) = (decimal, as_decimal(a), as_decimal(b)) {
            // Calcite's (and Flink's) rules for exact arithmetic.
            match op {
                Multiply => return Some(Type::new(Decimal { precision: (p1 + p2).min(38), scale: (s1 + s2).min(38) })),
                Divide => {
                    let scale = (s1 + p2 + 1).max(6);
                    let precision = (p1 - s1 + s2 + scale).min(38);
                    return Some(Type::new(Decimal { precision, scale: scale.min(precision) }));
                }
                _ => {}
            }
        }
        return common_type(a, b);
    }
    match (&a.kind, &b.kind, op) {
        (Timestamp(_) | TimestampLtz(_) | Date | Time(_), IntervalDayTime | IntervalYearMonth, Plus | Minus) => {
            Some(a.clone())
        }
        (IntervalDayTime | IntervalYearMonth, Timestamp(_) | TimestampLtz(_) | Date | Time(_), Plus) => Some(b.clone()),
        (IntervalDayTime, IntervalDayTime, Plus | Minus) | (IntervalYearMonth, IntervalYearMonth, Plus | Minus) => {
            Some(a.clone())
        }
        (IntervalDayTime | IntervalYearMonth, _, Multiply | Divide) if b.is_numeric() => Some(a.clone()),
        (_, IntervalDayTime | IntervalYearMonth, Multiply) if a.is_numeric() => Some(b.clone()),
        _ => None,
    }
}

fn case(
    r: &mut Resolver,
    operand: Option<&ast::Expr>,
    whens: &[(ast::Expr, ast::Expr)],
    else_: Option<&ast::Expr>,
    span: Span,
    ctx: &mut Ctx<'_>,
) -> Option<Expr> {
    let operand = match operand {
        Some(o) => Some(resolve_expr(r, o, ctx)?),
        None => None,
    };
    let mut out = Vec::new();
    let mut ty = Type::null();
    let mut ok = true;
    for (w, t) in whens {
        let cond = resolve_expr(r, w, ctx);
        let then = resolve_expr(r, t, ctx);
        let (Some(cond), Some(then)) = (cond, then) else {
            ok = false;
            continue;
        };
        let cond = match &operand {
            Some(o) => {
                if comparable(r, o, &cond, w.span).is_none() {
                    ok = false;
                    continue;
                }
                let nullable = o.ty.nullable || cond.ty.nullable;
                Expr::call("=", vec![o.clone(), cond], Type::boolean().with_nullable(nullable))
            }
            None => {
                if expect_condition(r, &cond, w.span, "WHEN").is_none() {
                    ok = false;
                    continue;
                }
                cond
            }
        };
        ok &= widen_branch(r, &mut ty, &then.ty, t.span, "this branch");
        out.push((cond, then));
    }
    let else_expr = match else_ {
        Some(e) => {
            let x = resolve_expr(r, e, ctx)?;
            ok &= widen_branch(r, &mut ty, &x.ty, e.span, "ELSE");
            Some(Box::new(x))
        }
        None => {
            ty.nullable = true;
            None
        }
    };
    if !ok {
        return None;
    }
    let _ = span;
    Some(Expr { kind: ExprKind::Case { whens: out, else_: else_expr }, ty })
}

/// Widens the CASE result type `ty` to take a branch of type `branch`; reports (and
/// returns false) when they have no common type.
fn widen_branch(r: &mut Resolver, ty: &mut Type, branch: &Type, span: Span, what: &str) -> bool {
    match common_type(ty, branch) {
        Some(t) => {
            *ty = t;
            true
        }
        None => {
            r.report(
                Diagnostic::error(Code::NoCommonType, format!("CASE branches have no common type: {ty} and {branch}"))
                    .at(span, format!("{what} is {branch}"))
                    .with_help("CAST the branches to one type"),
            );
            false
        }
    }
}

fn field_access(r: &mut Resolver, x: Expr, field: &ast::Ident) -> Option<Expr> {
    let TypeKind::Row(fields) = &x.ty.kind else {
        return err(
            r,
            Diagnostic::error(
                Code::UnknownField,
                format!("`.{}`: only ROW values have fields, this is {}", field.name, x.ty),
            )
            .at(field.span, "not a ROW"),
        );
    };
    match fields.iter().position(|f| f.name == field.name) {
        Some(i) => {
            let ty = fields[i].ty.clone().with_nullable(fields[i].ty.nullable || x.ty.nullable);
            Some(Expr { kind: ExprKind::Field { expr: Box::new(x), index: i }, ty })
        }
        None => {
            let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
            let mut d = Diagnostic::error(Code::UnknownField, format!("the ROW has no field `{}`", field.name))
                .at(field.span, "no such field");
            d = match did_you_mean(&field.name, names.iter().copied()) {
                Some(s) => d.with_help(format!("did you mean `{s}`?")),
                None => d.with_help(format!("its fields are {}", list_names(&names))),
            };
            err(r, d)
        }
    }
}

/// Functions SQL lets you call without parentheses.
const NILADIC: &[&str] = &["CURRENT_TIMESTAMP", "CURRENT_DATE", "CURRENT_TIME", "LOCALTIMESTAMP", "LOCALTIME"];

fn identifier(r: &mut Resolver, parts: &[ast::Ident], span: Span, ctx: &mut Ctx<'_>) -> Option<Expr> {
    let scope = ctx.scope;
    let first = &parts[0];
    let (mut x, rest) = if parts.len() > 1 && scope.qualified(&first.name).is_some() {
        let col = &parts[1];
        match scope.qualified_column(&first.name, &col.name) {
            Some(Ok((i, f))) => (Expr::column(i, f.ty.clone()), &parts[2..]),
            Some(Err(entry)) => {
                return err(
                    r,
                    Diagnostic::error(
                        Code::AmbiguousColumn,
                        format!("`{}` has two columns named `{}`", first.name, col.name),
                    )
                    .at(col.span, "which one?")
                    .also(entry.span, "defined here")
                    .with_help("give the columns distinct names with AS"),
                );
            }
            None => {
                let entry = scope.qualified(&first.name)?;
                let names: Vec<&str> = entry.fields.iter().map(|f| f.name.as_str()).collect();
                let mut d =
                    Diagnostic::error(Code::UnknownColumn, format!("`{}` has no column `{}`", first.name, col.name))
                        .at(col.span, "no such column");
                if let Some(s) = did_you_mean(&col.name, names.iter().copied()) {
                    d = d.with_help(format!("did you mean `{}.{s}`?", first.name));
                } else {
                    d = d.with_help(format!("its columns are {}", list_names(&names)));
                }
                return err(r, d);
            }
        }
    } else {
        match scope.column(&first.name) {
            Lookup::Found { index, field } => (Expr::column(index, field.ty.clone()), &parts[1..]),
            Lookup::Ambiguous(entries) if entries.iter().all(|e| std::ptr::eq(*e, entries[0])) => {
                let entry = entries[0];
                let what = entry.qualifier.as_ref().map_or_else(|| "the subquery".to_string(), |q| format!("`{q}`"));
                return err(
                    r,
                    Diagnostic::error(
                        Code::AmbiguousColumn,
                        format!("column `{}` is ambiguous: {what} has two columns of that name", first.name),
                    )
                    .at(first.span, "which one?")
                    .also(entry.span, "defined here")
                    .with_help("give the columns distinct names with AS"),
                );
            }
            Lookup::Ambiguous(entries) => {
                let quals: Vec<String> =
                    entries.iter().map(|e| e.qualifier.clone().unwrap_or_else(|| "(subquery)".into())).collect();
                let mut d = Diagnostic::error(Code::AmbiguousColumn, format!("column `{}` is ambiguous", first.name))
                    .at(first.span, "which one?")
                    .with_help(format!(
                        "qualify it: {}",
                        quals.iter().map(|q| format!("{q}.{}", first.name)).collect::<Vec<_>>().join(" or ")
                    ));
                for e in entries {
                    d = d.also(e.span, format!("`{}` is a column here", first.name));
                }
                return err(r, d);
            }
            Lookup::Missing => {
                if parts.len() == 1 && NILADIC.iter().any(|n| n.eq_ignore_ascii_case(&first.name)) && !first.quoted {
                    return builtin(r, &first.name.to_ascii_uppercase(), Vec::new(), span);
                }
                return err(r, unknown_column(r, scope, parts, span, ctx.clause));
            }
        }
    };
    for f in rest {
        x = field_access(r, x, f)?;
    }
    Some(x)
}

fn unknown_column(r: &Resolver, scope: &Scope, parts: &[ast::Ident], span: Span, clause: &str) -> Diagnostic {
    let first = &parts[0];
    if parts.len() > 1 {
        let known_relation = r.is_relation(&first.name);
        let quals: Vec<&str> = scope.entries.iter().filter_map(|e| e.qualifier.as_deref()).collect();
        let mut d =
            Diagnostic::error(Code::UnknownColumn, format!("no table, alias or column named `{}` here", first.name))
                .at(first.span, "not in scope");
        d = if known_relation {
            d.with_help(format!(
                "`{}` is not in the FROM clause of this query; the relations here are {}",
                first.name,
                list_names(&quals)
            ))
        } else if let Some(s) = did_you_mean(&first.name, quals.iter().copied().chain(scope.names())) {
            d.with_help(format!("did you mean `{s}`?"))
        } else if quals.is_empty() {
            d.with_help("the FROM clause has no named relation: give the subquery an alias, as in FROM (SELECT …) AS t")
        } else {
            d.with_help(format!("the relations here are {}", list_names(&quals)))
        };
        return d;
    }
    let names = scope.names();
    let mut d =
        Diagnostic::error(Code::UnknownColumn, format!("unknown column `{}`", first.name)).at(span, "not found");
    if let Some(exact) = names.iter().find(|n| n.eq_ignore_ascii_case(&first.name)) {
        return d.with_help(format!("names are case-sensitive: did you mean `{exact}`?"));
    }
    d = match did_you_mean(&first.name, names.iter().copied()) {
        Some(s) => d.with_help(format!("did you mean `{s}`?")),
        None if names.is_empty() => d.with_help(format!("{clause} has no input columns here")),
        None => {
            let mut shown = names.clone();
            shown.truncate(12);
            d.with_help(format!("columns here are {}{}", list_names(&shown), if names.len() > 12 { ", …" } else { "" }))
        }
    };
    d
}

/// Types a call of a built-in scalar function on resolved arguments.
fn builtin(r: &mut Resolver, name: &str, args: Vec<(Expr, Span)>, span: Span) -> Option<Expr> {
    let Some(info) = functions::lookup(name) else {
        return err(r, Diagnostic::internal(format!("built-in `{name}` is missing from the catalog")).at(span, ""));
    };
    let types: Vec<Type> = args.iter().map(|(a, _)| a.ty.clone()).collect();
    match functions::return_type(info, &types) {
        Ok(ty) => Some(Expr::call(info.name, args.into_iter().map(|(a, _)| a).collect(), ty)),
        Err(e) => err(r, arg_error(info, e, &args, span)),
    }
}

fn arg_error(info: &functions::FunctionInfo, e: ArgError, args: &[(Expr, Span)], span: Span) -> Diagnostic {
    match e {
        ArgError::Count { expected, found } => Diagnostic::error(
            Code::WrongArgumentCount,
            format!("{} takes {expected} argument(s), but {found} were given", info.name),
        )
        .at(span, format!("{found} argument(s)"))
        .with_help(format!("usage: {}", info.signature)),
        ArgError::Type { index, expected } => {
            let (arg, at) = args.get(index).map_or((None, span), |(a, s)| (Some(a), *s));
            let found = arg.map_or("this".to_string(), |a| a.ty.to_string());
            Diagnostic::error(
                Code::TypeMismatch,
                format!("argument {} of {} must be {expected}, not {found}", index + 1, info.name),
            )
            .at(at, format!("this is {found}"))
            .with_help(format!("usage: {}", info.signature))
        }
    }
}

fn function(r: &mut Resolver, f: &ast::FunctionCall, span: Span, ctx: &mut Ctx<'_>) -> Option<Expr> {
    let upper = f.name.name.to_ascii_uppercase();
    if matches!(upper.as_str(), "TIMESTAMPADD" | "TIMESTAMPDIFF") {
        return timestamp_unit_call(r, &upper, f, span, ctx);
    }
    if let Some(udf) = r.udf(&f.name.name) {
        if udf.aggregate.is_some() {
            return rust_aggregate_call(r, f, &udf, span, ctx);
        }
        let args = f.args.iter().map(|a| resolve_expr(r, a, ctx)).collect::<Option<Vec<_>>>()?;
        check_udf_args(r, f, &udf, &args, span)?;
        let args = args.into_iter().zip(&udf.args).map(|(a, want)| cast_to(a, want)).collect();
        let kind = ExprKind::Udf { name: f.name.name.to_ascii_lowercase(), path: udf.path.clone(), args };
        return Some(Expr { kind, ty: udf.result.clone() });
    }
    builtin_function(r, f, &upper, span, ctx)
}

/// Checks the arguments of a call of a CREATE FUNCTION against its Rust signature.
fn check_udf_args(r: &mut Resolver, f: &ast::FunctionCall, udf: &super::Udf, args: &[Expr], span: Span) -> Option<()> {
    if args.len() != udf.args.len() {
        r.report(
            Diagnostic::error(
                Code::WrongArgumentCount,
                format!("{} takes {} argument(s), but {} were given", f.name.name, udf.args.len(), args.len()),
            )
            .at(span, "wrong number of arguments")
            .with_help(udf.doc.clone()),
        );
        return None;
    }
    for ((a, want), a_ast) in args.iter().zip(&udf.args).zip(&f.args) {
        if !a.ty.implicitly_casts_to(want) {
            let d = mismatch(a_ast.span, format!("{} expects {want} here, not {}", f.name.name, a.ty));
            r.report(d.with_help(udf.doc.clone()));
            return None;
        }
    }
    Some(())
}

/// A call of a Rust aggregate function: like a built-in aggregate's, typed from its
/// `impl AggregateFunction`.
fn rust_aggregate_call(
    r: &mut Resolver,
    f: &ast::FunctionCall,
    udf: &super::Udf,
    span: Span,
    ctx: &mut Ctx<'_>,
) -> Option<Expr> {
    let name = f.name.name.to_ascii_lowercase();
    let unsupported = |what: &str, help: &str| {
        Diagnostic::error(
            Code::UnsupportedFeature,
            format!("{what} is not supported for the Rust aggregate function `{name}`"),
        )
        .at(span, "here")
        .with_help(help.to_string())
    };
    if f.over.is_some() {
        return err(
            r,
            unsupported("OVER", "aggregate with GROUP BY or a window TVF, or use a built-in OVER aggregate"),
        );
    }
    if f.distinct || f.star {
        let what = if f.distinct { "DISTINCT" } else { "*" };
        return err(r, unsupported(what, "deduplicate in the function itself, or in a subquery with GROUP BY"));
    }
    if ctx.agg.is_none() {
        return err(
            r,
            Diagnostic::error(
                Code::MisplacedAggregate,
                format!("aggregate function {name} is not allowed in {}", ctx.clause),
            )
            .at(span, "aggregate here")
            .with_help("aggregates belong in the SELECT list or HAVING of a query with GROUP BY"),
        );
    }
    let mut inner = Ctx::plain(ctx.scope, "an aggregate's arguments");
    let args = f.args.iter().map(|a| resolve_expr(r, a, &mut inner)).collect::<Option<Vec<_>>>()?;
    check_udf_args(r, f, udf, &args, span)?;
    let filter = match &f.filter {
        Some(x) => {
            let c = resolve_expr(r, x, &mut Ctx::plain(ctx.scope, "FILTER"))?;
            expect_condition(r, &c, x.span, "FILTER")?;
            Some(c)
        }
        None => None,
    };
    // Arguments are given to the function as its signature declares them.
    let args = args.into_iter().zip(&udf.args).map(|(a, want)| cast_to(a, want)).collect();
    let call = AggregateCall {
        function: name,
        args,
        distinct: false,
        filter,
        ty: udf.result.clone(),
        rust: udf.aggregate.clone().map(|a| crate::hir::RustAggregateCall { span, ..a }),
    };
    record_aggregate(ctx, call)
}

/// Records an aggregate call of the query (once per distinct call); the expression
/// becomes a reference to its output column.
fn record_aggregate(ctx: &mut Ctx<'_>, call: AggregateCall) -> Option<Expr> {
    let ty = call.ty.clone();
    let agg = ctx.agg.as_mut()?;
    let base = agg.aggregates_base();
    let index = match agg.calls.iter().position(|c| same_call(c, &call)) {
        Some(i) => i,
        None => {
            agg.calls.push(call);
            agg.calls.len() - 1
        }
    };
    Some(Expr::column(base + index, ty))
}

/// `a` as a value of type `want` (the Rust type a function's signature declares), cast
/// when its SQL type differs (INT given where BIGINT is taken).
fn cast_to(a: Expr, want: &Type) -> Expr {
    if a.ty.kind == want.kind {
        return a;
    }
    let ty = want.clone().with_nullable(a.ty.nullable);
    Expr { kind: ExprKind::Cast { expr: Box::new(a), try_: false }, ty }
}

fn builtin_function(
    r: &mut Resolver,
    f: &ast::FunctionCall,
    upper: &str,
    span: Span,
    ctx: &mut Ctx<'_>,
) -> Option<Expr> {
    let Some(info) = functions::lookup(&f.name.name) else {
        if r.function_poisoned(&f.name.name) {
            return None;
        }
        let mut d = Diagnostic::error(Code::UnknownFunction, format!("unknown function `{}`", f.name.name))
            .at(f.name.span, "not a function");
        d = match did_you_mean(upper, functions::names()) {
            Some(s) => d.with_help(format!("did you mean `{s}`?")),
            None => d.with_help("define it with CREATE FUNCTION, or see docs/language.md for the built-in functions"),
        };
        return err(r, d);
    };
    if f.over.is_some() {
        return over_call(r, f, info, span, ctx);
    }
    match info.kind {
        FunctionKind::Scalar => {
            if f.distinct || f.filter.is_some() || f.star {
                let what = if f.distinct {
                    "DISTINCT"
                } else if f.star {
                    "*"
                } else {
                    "FILTER"
                };
                return err(
                    r,
                    Diagnostic::error(
                        Code::InvalidAggregateCall,
                        format!("{what} is only allowed in aggregate calls, and {} is not an aggregate", info.name),
                    )
                    .at(span, "not an aggregate"),
                );
            }
            let args = resolve_args(r, &f.args, ctx)?;
            builtin(r, info.name, args, span)
        }
        FunctionKind::Aggregate => aggregate_call(r, f, info, span, ctx),
        FunctionKind::Window => err(
            r,
            Diagnostic::error(Code::InvalidAggregateCall, format!("{} needs an OVER clause", info.name))
                .at(span, "no OVER")
                .with_help(format!("write {}() OVER (PARTITION BY … ORDER BY …)", info.name)),
        ),
        FunctionKind::GroupWindow => err(
            r,
            Diagnostic::error(
                Code::InvalidAggregateCall,
                format!("{}(…) defines a group window and belongs in GROUP BY", info.name),
            )
            .at(span, "only allowed in GROUP BY")
            .with_help(
                "or use the window table function: FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' MINUTE))",
            ),
        ),
        FunctionKind::GroupWindowProperty => window_property(r, f, info, span, ctx),
    }
}

fn resolve_args(r: &mut Resolver, args: &[ast::Expr], ctx: &mut Ctx<'_>) -> Option<Vec<(Expr, Span)>> {
    let resolved: Vec<Option<Expr>> = args.iter().map(|a| resolve_expr(r, a, ctx)).collect();
    resolved.into_iter().zip(args).map(|(x, a)| x.map(|x| (x, a.span))).collect()
}

/// `TIMESTAMPADD(unit, n, ts)` / `TIMESTAMPDIFF(unit, a, b)`: the first argument is a unit.
fn timestamp_unit_call(
    r: &mut Resolver,
    name: &str,
    f: &ast::FunctionCall,
    span: Span,
    ctx: &mut Ctx<'_>,
) -> Option<Expr> {
    if f.args.len() != 3 {
        return err(
            r,
            Diagnostic::error(
                Code::WrongArgumentCount,
                format!("{name} takes 3 arguments, but {} were given", f.args.len()),
            )
            .at(span, "wrong number of arguments")
            .with_help(format!(
                "usage: {name}(unit, …, …) with unit one of SECOND, MINUTE, HOUR, DAY, WEEK, MONTH, QUARTER, YEAR"
            )),
        );
    }
    let unit = match &f.args[0].kind {
        A::Identifier(p) if p.len() == 1 => p[0].name.to_ascii_uppercase(),
        _ => String::new(),
    };
    if !["SECOND", "MINUTE", "HOUR", "DAY", "WEEK", "MONTH", "QUARTER", "YEAR"].contains(&unit.as_str()) {
        return err(
            r,
            mismatch(f.args[0].span, format!("the first argument of {name} must be a time unit (SECOND … YEAR)")),
        );
    }
    let a = resolve_expr(r, &f.args[1], ctx)?;
    let b = resolve_expr(r, &f.args[2], ctx)?;
    let unit_lit = lit(Value::String(unit), Type::not_null(TypeKind::Varchar(16)));
    if name == "TIMESTAMPADD" {
        if !(a.ty.is_integer() || a.ty.is_null()) {
            return err(r, mismatch(f.args[1].span, format!("TIMESTAMPADD adds an integer count, not {}", a.ty)));
        }
        if !(b.ty.is_datetime() || b.ty.is_null()) {
            return err(r, mismatch(f.args[2].span, format!("TIMESTAMPADD needs a date or timestamp, not {}", b.ty)));
        }
        let ty = b.ty.clone().with_nullable(a.ty.nullable || b.ty.nullable);
        return Some(Expr::call(name, vec![unit_lit, a, b], ty));
    }
    for (x, s) in [(&a, f.args[1].span), (&b, f.args[2].span)] {
        if !(x.ty.is_datetime() || x.ty.is_null()) {
            return err(r, mismatch(s, format!("TIMESTAMPDIFF needs dates or timestamps, not {}", x.ty)));
        }
    }
    let ty = Type::int().with_nullable(a.ty.nullable || b.ty.nullable);
    Some(Expr::call(name, vec![unit_lit, a, b], ty))
}

/// An aggregate call in an aggregate query: resolved over the FROM scope and recorded;
/// the expression becomes a reference to its output column.
fn aggregate_call(
    r: &mut Resolver,
    f: &ast::FunctionCall,
    info: &functions::FunctionInfo,
    span: Span,
    ctx: &mut Ctx<'_>,
) -> Option<Expr> {
    if ctx.agg.is_none() {
        return err(
            r,
            Diagnostic::error(
                Code::MisplacedAggregate,
                format!("aggregate function {} is not allowed in {}", info.name, ctx.clause),
            )
            .at(span, "aggregate here")
            .with_help(if ctx.clause == "WHERE" {
                "filter on aggregates with HAVING".to_string()
            } else {
                "aggregates belong in the SELECT list or HAVING of a query with GROUP BY".to_string()
            }),
        );
    }
    if f.star && info.name != "COUNT" {
        return err(
            r,
            Diagnostic::error(Code::InvalidAggregateCall, format!("{}(*) is not valid; only COUNT takes *", info.name))
                .at(span, "*"),
        );
    }
    // Arguments see the input rows, not the groups; nested aggregates are not allowed.
    let mut inner = Ctx::plain(ctx.scope, "an aggregate's arguments");
    let args = resolve_args(r, &f.args, &mut inner)?;
    let filter = match &f.filter {
        Some(x) => {
            let mut fctx = Ctx::plain(ctx.scope, "FILTER");
            let c = resolve_expr(r, x, &mut fctx)?;
            expect_condition(r, &c, x.span, "FILTER")?;
            Some(c)
        }
        None => None,
    };
    let mut types: Vec<Type> = args.iter().map(|(a, _)| a.ty.clone()).collect();
    if info.name == "COUNT" && f.distinct && types.len() > 1 {
        // COUNT(DISTINCT a, b): distinct combinations; typed like COUNT(x).
        types.truncate(1);
    }
    let ty = match functions::return_type(info, &types) {
        Ok(t) => t,
        Err(e) => return err(r, arg_error(info, e, &args, span)),
    };
    ctx.agg.as_ref()?;
    let call = AggregateCall {
        function: info.name.to_string(),
        args: args.into_iter().map(|(a, _)| a).collect(),
        distinct: f.distinct,
        filter,
        ty,
        rust: None,
    };
    record_aggregate(ctx, call)
}

fn same_call(a: &AggregateCall, b: &AggregateCall) -> bool {
    a.function == b.function && a.args == b.args && a.distinct == b.distinct && a.filter == b.filter
}

/// `TUMBLE_START(ts, INTERVAL …)` and friends: a column of the group window.
fn window_property(
    r: &mut Resolver,
    f: &ast::FunctionCall,
    info: &functions::FunctionInfo,
    span: Span,
    ctx: &mut Ctx<'_>,
) -> Option<Expr> {
    let (window_fn, prop) = info.name.rsplit_once('_')?;
    let matches = ctx.agg.as_ref().and_then(|a| a.window.as_ref()).map(|w| {
        w.function == window_fn
            && w.args.len() == f.args.len()
            && w.args.iter().zip(&f.args).all(|(a, b)| crate::ast::same_expr(a, b))
    });
    if matches != Some(true) {
        return err(
            r,
            Diagnostic::error(
                Code::InvalidWindow,
                format!("{} must name the group window of this query's GROUP BY, with the same arguments", info.name),
            )
            .at(span, "no such group window")
            .with_help(format!(
                "GROUP BY {window_fn}(time_column, …) and select {}(time_column, …) with the same arguments",
                info.name
            )),
        );
    }
    let agg = ctx.agg.as_ref()?;
    let window = agg.window.as_ref()?;
    let base = agg.group.len();
    let ts = match window.time_type.kind {
        TypeKind::TimestampLtz(_) => TypeKind::TimestampLtz(3),
        _ => TypeKind::Timestamp(3),
    };
    let (offset, ty) = match prop {
        "START" => (0, Type::not_null(TypeKind::Timestamp(3))),
        "END" => (1, Type::not_null(TypeKind::Timestamp(3))),
        "ROWTIME" => (2, Type::not_null(ts)),
        _ => (2, Type::not_null(TypeKind::TimestampLtz(3))),
    };
    Some(Expr::column(base + offset, ty))
}

/// `f(…) OVER (PARTITION BY … ORDER BY … [frame])`.
fn over_call(
    r: &mut Resolver,
    f: &ast::FunctionCall,
    info: &functions::FunctionInfo,
    span: Span,
    ctx: &mut Ctx<'_>,
) -> Option<Expr> {
    if info.name == "LEAD" {
        return err(
            r,
            Diagnostic::error(Code::UnsupportedStreaming, "LEAD looks at rows that have not arrived yet")
                .at(span, "not possible on a stream")
                .with_help("use LAG and order the other way, or join the stream with itself within a time bound"),
        );
    }
    if ctx.over.is_none() {
        return err(
            r,
            Diagnostic::error(Code::InvalidAggregateCall, format!("OVER is not allowed in {}", ctx.clause))
                .at(span, "OVER here")
                .with_help("compute it in the SELECT list of a subquery, and filter on it outside"),
        );
    }
    if !matches!(info.kind, FunctionKind::Aggregate | FunctionKind::Window) {
        return err(
            r,
            Diagnostic::error(
                Code::InvalidAggregateCall,
                format!("{} is not an aggregate or window function, so it cannot have OVER", info.name),
            )
            .at(span, "not a window function"),
        );
    }
    let spec = match f.over.as_ref()? {
        ast::Over::Window(w) => w,
        ast::Over::Named(n) => {
            return err(
                r,
                Diagnostic::error(Code::UnsupportedFeature, "named windows (OVER w) are not supported")
                    .at(n.span, "named window")
                    .with_help("write the window out: OVER (PARTITION BY … ORDER BY …)"),
            );
        }
    };
    let scope = ctx.scope;
    let mut inner = Ctx::plain(scope, "an OVER clause");
    let args = resolve_args(r, &f.args, &mut inner)?;
    let partition_by = spec.partition_by.iter().map(|p| resolve_expr(r, p, &mut inner)).collect::<Option<Vec<_>>>()?;
    let mut order_by = Vec::new();
    for o in &spec.order_by {
        let expr = resolve_expr(r, &o.expr, &mut inner)?;
        order_by.push((SortKey { expr, desc: o.desc, nulls_first: o.nulls_first.unwrap_or(!o.desc) }, o.expr.span));
    }
    if order_by.is_empty() {
        return err(
            r,
            Diagnostic::error(Code::InvalidAggregateCall, format!("{} … OVER needs an ORDER BY", info.name))
                .at(spec.span, "no ORDER BY")
                .with_help("order by a time attribute, e.g. OVER (PARTITION BY user_id ORDER BY ts)"),
        );
    }
    if info.kind == FunctionKind::Aggregate {
        // OVER aggregates advance with time: the first key must be a time attribute, ascending.
        let (first, at) = &order_by[0];
        let time = match &first.expr.kind {
            ExprKind::Column(i) => scope.fields().nth(*i).and_then(|f| f.time),
            _ => None,
        };
        if time.is_none() || first.desc || order_by.len() > 1 {
            return err(
                r,
                Diagnostic::error(
                    Code::NotTimeAttribute,
                    "OVER aggregates must be ordered by a time attribute, ascending, and nothing else",
                )
                .at(*at, "not a time attribute")
                .with_help("order by the table's event-time column (the one with a WATERMARK) or a PROCTIME() column"),
            );
        }
    }
    let frame = match &spec.frame {
        None => None,
        Some(fr) => Some(frame(r, fr)?),
    };
    let types: Vec<Type> = args.iter().map(|(a, _)| a.ty.clone()).collect();
    let ty = match functions::return_type(info, &types) {
        Ok(t) => t,
        Err(e) => return err(r, arg_error(info, e, &args, span)),
    };
    let base = scope.width();
    let calls = ctx.over.as_mut()?;
    calls.push(OverCall {
        function: info.name.to_string(),
        args: args.into_iter().map(|(a, _)| a).collect(),
        partition_by,
        order_by: order_by.into_iter().map(|(k, _)| k).collect(),
        frame,
        ty: ty.clone(),
    });
    Some(Expr::column(base + calls.len() - 1, ty))
}

fn frame(r: &mut Resolver, f: &ast::Frame) -> Option<OverFrame> {
    use ast::FrameBound::*;
    let end_ok = matches!(f.end, None | Some(CurrentRow));
    let preceding = match &f.start {
        UnboundedPreceding => None,
        CurrentRow => Some(0),
        Preceding(e) => Some(frame_offset(r, e, f.rows)?),
        _ => {
            return err(
                r,
                Diagnostic::error(
                    Code::UnsupportedStreaming,
                    "a streaming OVER window must start before the current row",
                )
                .at(f.span, "starts after the current row"),
            )
            .map(|_| OverFrame { rows: f.rows, preceding: None });
        }
    };
    if !end_ok {
        r.report(
            Diagnostic::error(Code::UnsupportedStreaming, "a streaming OVER window must end at CURRENT ROW")
                .at(f.span, "looks ahead")
                .with_help("rows after the current one have not arrived yet; use … PRECEDING AND CURRENT ROW"),
        );
        return None;
    }
    Some(OverFrame { rows: f.rows, preceding })
}

fn frame_offset(r: &mut Resolver, e: &ast::Expr, rows: bool) -> Option<i64> {
    let value = match &e.kind {
        A::Literal(ast::Literal::Number(n)) if rows => n.parse::<i64>().ok(),
        A::Literal(ast::Literal::Interval(i)) if !rows => literal::interval_ms(i),
        _ => None,
    };
    if value.is_none() {
        let what = if rows { "a whole number of rows" } else { "a constant day-time INTERVAL" };
        r.report(
            Diagnostic::error(Code::InvalidWindow, format!("the frame offset must be {what}"))
                .at(e.span, "not a constant"),
        );
    }
    value
}
