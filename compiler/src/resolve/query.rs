//! Queries: FROM (tables, views, subqueries, joins, window table functions), WHERE,
//! GROUP BY and aggregates, OVER, DISTINCT, set operations, ORDER BY / LIMIT; views and
//! INSERT targets.

use super::Resolver;
use super::expr::{AggState, Ctx, GroupWindow, expect_condition, resolve_expr};
use super::literal;
use super::scope::{Entry, Scope};
use crate::ast::{self, ExprKind as A, JoinKind, SelectItem, SetExpr, TableRefKind};
use crate::catalog::functions::{self, FunctionKind};
use crate::diagnostic::{Code, Diagnostic, did_you_mean, list_names};
use crate::hir::{
    self, Aggregate, Expr, ExprKind, Field, InsertPlan, Join, JoinType, Rel, RelKind, SortKey, TimeAttribute, WindowBound,
    WindowKind, Windowing,
};
use crate::span::Span;
use crate::types::{Type, TypeKind};

/// `CREATE VIEW v [(cols)] AS query`.
pub fn view(r: &mut Resolver, v: &ast::CreateView) -> Option<Rel> {
    let mut rel = query(r, &v.query, None)?;
    if !v.columns.is_empty() {
        if v.columns.len() != rel.schema.len() {
            r.report(
                Diagnostic::error(
                    Code::ColumnCountMismatch,
                    format!("view `{}` names {} columns, but its query has {}", v.name.base().name, v.columns.len(), rel.schema.len()),
                )
                .at(v.name.span, "column list does not match"),
            );
            return None;
        }
        for (f, c) in rel.schema.iter_mut().zip(&v.columns) {
            f.name = c.name.clone();
        }
    }
    check_unique_names(r, &rel.schema, v.name.span, &format!("view `{}`", v.name.base().name))?;
    Some(rel)
}

fn check_unique_names(r: &mut Resolver, schema: &[Field], span: Span, what: &str) -> Option<()> {
    for (i, f) in schema.iter().enumerate() {
        if schema[..i].iter().any(|g| g.name == f.name) {
            r.report(
                Diagnostic::error(Code::DuplicateColumn, format!("{what} has two columns named `{}`", f.name))
                    .at(span, "duplicate column name")
                    .with_help("give one of them another name with AS"),
            );
            return None;
        }
    }
    Some(())
}

/// `INSERT INTO t [(cols)] query`.
pub fn insert(r: &mut Resolver, ins: &ast::Insert) -> Option<InsertPlan> {
    let table = r.sink_table(&ins.table);
    let rel = query(r, &ins.query, None);
    let table = table?;
    let t = r.table(table).clone();
    if let Some(spec) = crate::catalog::connectors::connector(&t.connector) {
        if !super::options::can_write(spec) {
            r.report(
                Diagnostic::error(Code::InvalidTableUse, format!("table `{}` uses connector '{}', which can only be read", t.name, t.connector))
                    .at(ins.table.span, "cannot be written to")
                    .also(t.span, "defined here"),
            );
            return None;
        }
    }
    if !ins.partition.is_empty() {
        r.report(
            Diagnostic::error(Code::UnsupportedFeature, "INSERT … PARTITION (…) with static partition values is not supported")
                .at(ins.partition[0].0.span, "static partition")
                .with_help("select the partition values as columns of the query instead"),
        );
        return None;
    }
    let columns = if ins.columns.is_empty() {
        t.writable_columns()
    } else {
        let mut cols = Vec::new();
        for c in &ins.columns {
            match t.column(&c.name) {
                Some(i) if cols.contains(&i) => {
                    r.report(Diagnostic::error(Code::DuplicateColumn, format!("column `{}` is listed twice", c.name)).at(c.span, "listed again"));
                    return None;
                }
                Some(i) => cols.push(i),
                None => {
                    let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
                    let mut d = Diagnostic::error(Code::UnknownColumn, format!("table `{}` has no column `{}`", t.name, c.name)).at(c.span, "no such column");
                    if let Some(s) = did_you_mean(&c.name, names.iter().copied()) {
                        d = d.with_help(format!("did you mean `{s}`?"));
                    }
                    r.report(d);
                    return None;
                }
            }
        }
        cols
    };
    let rel = rel?;
    if rel.schema.len() != columns.len() {
        let target: Vec<&str> = columns.iter().map(|&i| t.columns[i].name.as_str()).collect();
        r.report(
            Diagnostic::error(
                Code::InsertArity,
                format!("INSERT INTO `{}` writes {} column(s), but the query gives {}", t.name, columns.len(), rel.schema.len()),
            )
            .at(ins.query.span, format!("{} column(s) here", rel.schema.len()))
            .also(ins.table.span, format!("expects {}", list_names(&target)))
            .with_help("select exactly the target's columns, in order, or name the columns: INSERT INTO t (a, b) SELECT …"),
        );
        return None;
    }
    let mut ok = true;
    for (k, (&col, field)) in columns.iter().zip(&rel.schema).enumerate() {
        let target = &t.columns[col];
        if !field.ty.implicitly_casts_to(&target.ty.clone().with_nullable(true)) {
            r.report(
                Diagnostic::error(
                    Code::InsertType,
                    format!("column {} of the query is {}, but `{}`.`{}` is {}", k + 1, field.ty, t.name, target.name, target.ty),
                )
                .at(select_item_span(&ins.query, k).unwrap_or(ins.query.span), format!("this is {}", field.ty))
                .also(t.span, format!("`{}` declared here", target.name))
                .with_help(format!("CAST it: CAST(… AS {})", target.ty.clone().with_nullable(true))),
            );
            ok = false;
        }
    }
    if !rel.append_only && !accepts_updates(&t) {
        r.report(
            Diagnostic::error(
                Code::UnsupportedStreaming,
                format!("table `{}` ('{}') only takes appended rows, but this query updates its results", t.name, t.connector),
            )
            .at(ins.query.span, "produces updates")
            .also(t.span, "append-only sink")
            .with_help("write to a connector that takes updates ('upsert-kafka', 'redis', 'print', 'blackhole') with a PRIMARY KEY, or window the aggregation"),
        );
        ok = false;
    }
    ok.then_some(InsertPlan { table, columns, query: rel, span: ins.span })
}

/// Sinks that can apply a changelog (updates and deletes).
fn accepts_updates(t: &hir::Table) -> bool {
    matches!(t.connector.as_str(), "upsert-kafka" | "redis" | "print" | "blackhole")
}

/// The span of the `k`-th select item of a simple query, for pointing at a column.
fn select_item_span(q: &ast::Query, k: usize) -> Option<Span> {
    let SetExpr::Select(s) = &q.body else { return None };
    match s.items.get(k)? {
        SelectItem::Expr { expr, alias } => Some(alias.as_ref().map_or(expr.span, |a| expr.span.to(a.span))),
        SelectItem::Wildcard(span) => Some(*span),
        SelectItem::QualifiedWildcard(n) => Some(n.span),
    }
}

/// A query with its WITH, ORDER BY and LIMIT.
pub fn query(r: &mut Resolver, q: &ast::Query, _outer: Option<&Scope>) -> Option<Rel> {
    // CTEs are views visible in this query only.
    let mut shadowed = Vec::new();
    let mut ok = true;
    for cte in &q.with {
        let view = ast::CreateView {
            name: ast::ObjectName { parts: vec![cte.name.clone()], span: cte.name.span },
            temporary: true,
            if_not_exists: false,
            columns: cte.columns.clone(),
            query: cte.query.clone(),
        };
        match view_rel(r, &view) {
            Some(rel) => shadowed.push((cte.name.name.clone(), r.define_local_view(&cte.name.name, rel))),
            None => ok = false,
        }
    }
    let body = if ok { set_expr(r, &q.body) } else { None };
    for (name, previous) in shadowed.into_iter().rev() {
        r.restore_local_view(&name, previous);
    }
    let mut rel = body?;
    if q.order_by.is_empty() && q.limit.is_none() && q.offset.is_none() {
        return Some(rel);
    }
    let scope = Scope::single(None, rel.schema.clone(), q.span);
    let mut keys = Vec::new();
    for o in &q.order_by {
        let expr = match &o.expr.kind {
            A::Literal(ast::Literal::Number(n)) => match n.parse::<usize>().ok().filter(|&i| i >= 1 && i <= rel.schema.len()) {
                Some(i) => Expr::column(i - 1, rel.schema[i - 1].ty.clone()),
                None => {
                    r.report(
                        Diagnostic::error(Code::UnknownColumn, format!("ORDER BY {n}: the query has {} columns", rel.schema.len()))
                            .at(o.expr.span, "no such column"),
                    );
                    return None;
                }
            },
            _ => resolve_expr(r, &o.expr, &mut Ctx::plain(&scope, "ORDER BY"))?,
        };
        keys.push(SortKey { expr, desc: o.desc, nulls_first: o.nulls_first.unwrap_or(!o.desc) });
    }
    let limit = match &q.limit {
        Some(e) => Some(constant_count(r, e, "LIMIT")?),
        None => None,
    };
    let offset = match &q.offset {
        Some(e) => Some(constant_count(r, e, "OFFSET")?),
        None => None,
    };
    if limit.is_none() {
        if let Some(first) = keys.first() {
            let time = match &first.expr.kind {
                ExprKind::Column(i) => rel.schema[*i].time,
                _ => None,
            };
            if time.is_none() || first.desc {
                r.report(
                    Diagnostic::error(Code::UnsupportedStreaming, "a streaming ORDER BY must start with a time attribute, ascending")
                        .at(q.order_by[0].expr.span, "cannot sort an unbounded stream by this")
                        .with_help("add a LIMIT for a Top-N query, or order by the event-time column"),
                );
                return None;
            }
        }
    }
    let append_only = rel.append_only && limit.is_none();
    let schema = rel.schema.clone();
    rel = Rel {
        kind: RelKind::Sort { input: Box::new(rel), keys, limit, offset },
        schema,
        append_only,
        span: q.span,
    };
    Some(rel)
}

fn view_rel(r: &mut Resolver, v: &ast::CreateView) -> Option<Rel> {
    view(r, v)
}

fn constant_count(r: &mut Resolver, e: &ast::Expr, what: &str) -> Option<u64> {
    match &e.kind {
        A::Literal(ast::Literal::Number(n)) if n.parse::<u64>().is_ok() => n.parse().ok(),
        _ => {
            r.report(Diagnostic::error(Code::InvalidLiteral, format!("{what} must be a whole number")).at(e.span, "not a constant count"));
            None
        }
    }
}

fn set_expr(r: &mut Resolver, s: &SetExpr) -> Option<Rel> {
    match s {
        SetExpr::Select(select) => self::select(r, select),
        SetExpr::Query(q) => query(r, q, None),
        SetExpr::Values { rows, span } => values(r, rows, *span),
        SetExpr::SetOp { op, all, left, right, span } => {
            let l = set_expr(r, left);
            let rr = set_expr(r, right);
            let (l, rr) = (l?, rr?);
            if *op != ast::SetOp::Union {
                let name = if *op == ast::SetOp::Intersect { "INTERSECT" } else { "EXCEPT" };
                r.report(
                    Diagnostic::error(Code::UnsupportedFeature, format!("{name} is not supported"))
                        .at(*span, "not supported")
                        .with_help("express it with a JOIN (INTERSECT) or an anti-join (EXCEPT)"),
                );
                return None;
            }
            let schema = union_schema(r, &l, &rr, left.span(), right.span())?;
            let append_only = l.append_only && rr.append_only;
            let union = Rel { kind: RelKind::Union { inputs: vec![l, rr] }, schema, append_only, span: *span };
            Some(if *all { union } else { distinct(union, *span) })
        }
    }
}

fn union_schema(r: &mut Resolver, l: &Rel, rr: &Rel, ls: Span, rs: Span) -> Option<Vec<Field>> {
    if l.schema.len() != rr.schema.len() {
        r.report(
            Diagnostic::error(
                Code::ColumnCountMismatch,
                format!("UNION inputs have different numbers of columns: {} and {}", l.schema.len(), rr.schema.len()),
            )
            .at(rs, format!("{} columns", rr.schema.len()))
            .also(ls, format!("{} columns", l.schema.len())),
        );
        return None;
    }
    let mut out = Vec::new();
    for (a, b) in l.schema.iter().zip(&rr.schema) {
        match crate::types::common_type(&a.ty, &b.ty) {
            Some(ty) => out.push(Field {
                name: a.name.clone(),
                ty,
                time: if a.time == b.time { a.time } else { None },
                window: if a.window == b.window { a.window } else { None },
            }),
            None => {
                r.report(
                    Diagnostic::error(Code::NoCommonType, format!("UNION column `{}` is {} on one side and {} on the other", a.name, a.ty, b.ty))
                        .at(rs, format!("{}", b.ty))
                        .also(ls, format!("{}", a.ty))
                        .with_help("CAST one side so that both have the same type"),
                );
                return None;
            }
        }
    }
    Some(out)
}

/// SELECT DISTINCT / UNION: an aggregate grouping by every column.
fn distinct(rel: Rel, span: Span) -> Rel {
    let group_by: Vec<Expr> = rel.schema.iter().enumerate().map(|(i, f)| Expr::column(i, f.ty.clone())).collect();
    let windowing = tvf_windowing(&group_by, &rel.schema);
    let append_only = windowing != Windowing::None && rel.append_only;
    let schema = rel.schema.iter().map(|f| Field { time: None, ..f.clone() }).collect();
    Rel {
        kind: RelKind::Aggregate(Box::new(Aggregate { input: rel, group_by, aggregates: Vec::new(), windowing })),
        schema,
        append_only,
        span,
    }
}

fn values(r: &mut Resolver, rows: &[Vec<ast::Expr>], span: Span) -> Option<Rel> {
    let empty = Scope::default();
    let mut out: Vec<Vec<Expr>> = Vec::new();
    let width = rows.first().map_or(0, Vec::len);
    let mut types: Vec<Type> = vec![Type::null(); width];
    for row in rows {
        if row.len() != width {
            r.report(
                Diagnostic::error(Code::ColumnCountMismatch, format!("VALUES rows must all have {width} values"))
                    .at(row.first().map_or(span, |e| e.span), format!("this row has {}", row.len())),
            );
            return None;
        }
        let mut exprs = Vec::new();
        for (i, e) in row.iter().enumerate() {
            let x = resolve_expr(r, e, &mut Ctx::plain(&empty, "VALUES"))?;
            types[i] = match crate::types::common_type(&types[i], &x.ty) {
                Some(t) => t,
                None => {
                    r.report(
                        Diagnostic::error(Code::NoCommonType, format!("VALUES column {} mixes {} and {}", i + 1, types[i], x.ty))
                            .at(e.span, format!("this is {}", x.ty)),
                    );
                    return None;
                }
            };
            exprs.push(x);
        }
        out.push(exprs);
    }
    let schema = types
        .into_iter()
        .enumerate()
        .map(|(i, ty)| Field { name: format!("EXPR${i}"), ty, time: None, window: None })
        .collect();
    Some(Rel { kind: RelKind::Values { rows: out }, schema, append_only: true, span })
}

// ---------------------------------------------------------------------------------
// SELECT

fn select(r: &mut Resolver, s: &ast::Select) -> Option<Rel> {
    // FROM: each comma-separated item, then cross/inner joined with WHERE as condition.
    let (mut rel, scope, where_used) = if s.from.is_empty() {
        let rel = Rel { kind: RelKind::Values { rows: vec![Vec::new()] }, schema: Vec::new(), append_only: true, span: s.span };
        (rel, Scope::default(), false)
    } else {
        let mut parts = Vec::new();
        for t in &s.from {
            parts.push(table_ref(r, t));
        }
        let parts: Vec<(Rel, Scope)> = parts.into_iter().collect::<Option<_>>()?;
        let mut it = parts.into_iter();
        let (mut rel, mut scope) = it.next()?;
        let comma = it.len() > 0;
        for (right, right_scope) in it {
            let joined = scope.clone().join(right_scope);
            rel = join_rel(rel, right, JoinKind::Inner, None, JoinType::Regular, s.span, &joined);
            scope = joined;
        }
        if comma {
            // `FROM a, b WHERE a.x = b.y`: the WHERE is the join condition.
            let condition = match &s.selection {
                Some(w) => Some(condition(r, w, &scope, "WHERE")?),
                None => None,
            };
            if let RelKind::Join(j) = &mut rel.kind {
                j.condition = condition;
                j.join_type = classify_join(j, &scope);
            }
            let (schema, append_only) = join_output(&rel);
            rel.schema = schema;
            rel.append_only = append_only;
            (rel, scope, true)
        } else {
            (rel, scope, false)
        }
    };
    // A bad WHERE does not stop the SELECT list from being checked.
    let mut where_failed = false;
    if let (Some(w), false) = (&s.selection, where_used) {
        match condition(r, w, &scope, "WHERE") {
            Some(predicate) => rel = filter(rel, predicate, w.span),
            None => where_failed = true,
        }
    }

    let group_window = group_window(r, s, &scope)?;
    let is_aggregate = !s.group_by.is_empty()
        || s.items.iter().any(|i| matches!(i, SelectItem::Expr { expr, .. } if has_aggregate(expr)))
        || s.having.as_ref().is_some_and(has_aggregate);

    let mut items: Vec<(Expr, String)> = Vec::new();
    let mut over_calls = Vec::new();
    let input_rel;
    let out_scope_fields: Vec<Field>;
    if is_aggregate {
        let mut group = Vec::new();
        for g in &s.group_by {
            match g {
                ast::GroupItem::Expr(e) if is_group_window_call(e) => {}
                ast::GroupItem::Expr(e) => group.push(resolve_expr(r, e, &mut Ctx::plain(&scope, "GROUP BY"))?),
                ast::GroupItem::Empty(_) => {}
                ast::GroupItem::GroupingSets { kind, span, .. } => {
                    r.report(
                        Diagnostic::error(Code::UnsupportedFeature, format!("{kind} is not supported"))
                            .at(*span, "not supported")
                            .with_help("write one query per grouping and UNION ALL them"),
                    );
                    return None;
                }
            }
        }
        let mut ctx = Ctx {
            scope: &scope,
            clause: "the SELECT list",
            agg: Some(AggState { group, window: group_window.as_ref().map(|(w, _)| w.clone_info()), calls: Vec::new() }),
            over: None,
        };
        let mut ok = true;
        for (k, item) in s.items.iter().enumerate() {
            ok &= select_item(r, item, k, &mut ctx, &mut items).is_some();
        }
        let having = match &s.having {
            Some(h) => {
                ctx.clause = "HAVING";
                let c = resolve_expr(r, h, &mut ctx);
                match c {
                    Some(c) if expect_condition(r, &c, h.span, "HAVING").is_some() => Some(c),
                    _ => {
                        ok = false;
                        None
                    }
                }
            }
            None => None,
        };
        if !ok {
            return None;
        }
        let agg = ctx.agg.take()?;
        let windowing = match &group_window {
            Some((_, (window, time_column))) => Windowing::Group { window: window.clone(), time_column: *time_column },
            None => tvf_windowing(&agg.group, &rel.schema),
        };
        let mut schema: Vec<Field> = agg
            .group
            .iter()
            .enumerate()
            .map(|(i, g)| match &g.kind {
                ExprKind::Column(c) => {
                    let f = &rel.schema[*c];
                    let keeps_time = windowing != Windowing::None && f.time == Some(TimeAttribute::Rowtime) && f.name == "window_time";
                    Field { name: f.name.clone(), ty: g.ty.clone(), time: keeps_time.then_some(TimeAttribute::Rowtime), window: f.window }
                }
                _ => Field { name: format!("$group{i}"), ty: g.ty.clone(), time: None, window: None },
            })
            .collect();
        if let Some((w, _)) = &group_window {
            let ts = if matches!(w.time_type.kind, TypeKind::TimestampLtz(_)) { TypeKind::TimestampLtz(3) } else { TypeKind::Timestamp(3) };
            schema.push(Field { name: "$window_start".into(), ty: Type::not_null(TypeKind::Timestamp(3)), time: None, window: Some(WindowBound::Start) });
            schema.push(Field { name: "$window_end".into(), ty: Type::not_null(TypeKind::Timestamp(3)), time: None, window: Some(WindowBound::End) });
            schema.push(Field { name: "$window_time".into(), ty: Type::not_null(ts), time: w.time, window: None });
        }
        for (i, c) in agg.calls.iter().enumerate() {
            schema.push(Field { name: format!("$agg{i}"), ty: c.ty.clone(), time: None, window: None });
        }
        let append_only = windowing != Windowing::None && rel.append_only;
        rel = Rel {
            kind: RelKind::Aggregate(Box::new(Aggregate { input: rel, group_by: agg.group, aggregates: agg.calls, windowing })),
            schema,
            append_only,
            span: s.span,
        };
        if let Some(h) = having {
            rel = filter(rel, h, s.having.as_ref().map_or(s.span, |h| h.span));
        }
        out_scope_fields = rel.schema.clone();
        input_rel = rel;
    } else {
        let mut ctx = Ctx { scope: &scope, clause: "the SELECT list", agg: None, over: Some(Vec::new()) };
        let mut ok = true;
        for (k, item) in s.items.iter().enumerate() {
            ok &= select_item(r, item, k, &mut ctx, &mut items).is_some();
        }
        if !ok {
            return None;
        }
        if let Some(h) = &s.having {
            r.report(
                Diagnostic::error(Code::MisplacedAggregate, "HAVING needs GROUP BY or aggregates")
                    .at(h.span, "nothing to filter groups of")
                    .with_help("use WHERE to filter rows"),
            );
            return None;
        }
        over_calls = ctx.over.take().unwrap_or_default();
        if !over_calls.is_empty() {
            let mut schema = rel.schema.clone();
            for (i, c) in over_calls.iter().enumerate() {
                schema.push(Field { name: format!("$over{i}"), ty: c.ty.clone(), time: None, window: None });
            }
            let ranks_by_value = over_calls.iter().any(|c| {
                matches!(c.function.as_str(), "ROW_NUMBER" | "RANK" | "DENSE_RANK")
                    && !c.order_by.first().is_some_and(|k| {
                        !k.desc && matches!(&k.expr.kind, ExprKind::Column(i) if rel.schema[*i].time.is_some())
                    })
            });
            let append_only = rel.append_only && !ranks_by_value;
            rel = Rel { kind: RelKind::Over { input: Box::new(rel), calls: over_calls.clone() }, schema, append_only, span: s.span };
        }
        out_scope_fields = rel.schema.clone();
        input_rel = rel;
    }
    let _ = over_calls;
    let schema: Vec<Field> = items
        .iter()
        .map(|(e, name)| {
            let (time, window) = match &e.kind {
                ExprKind::Column(i) => out_scope_fields.get(*i).map_or((None, None), |f| (f.time, f.window)),
                ExprKind::Call { function, args } if function == "PROCTIME" && args.is_empty() => (Some(TimeAttribute::Proctime), None),
                _ => (None, None),
            };
            Field { name: name.clone(), ty: e.ty.clone(), time, window }
        })
        .collect();
    let append_only = input_rel.append_only;
    let mut rel = Rel {
        kind: RelKind::Project { input: Box::new(input_rel), exprs: items.into_iter().map(|(e, _)| e).collect() },
        schema,
        append_only,
        span: s.span,
    };
    if s.distinct {
        rel = distinct(rel, s.span);
    }
    (!where_failed).then_some(rel)
}

fn filter(rel: Rel, predicate: Expr, span: Span) -> Rel {
    let schema = rel.schema.clone();
    let append_only = rel.append_only;
    let _ = span;
    let span = rel.span;
    Rel { kind: RelKind::Filter { input: Box::new(rel), predicate }, schema, append_only, span }
}

fn condition(r: &mut Resolver, e: &ast::Expr, scope: &Scope, clause: &'static str) -> Option<Expr> {
    let c = resolve_expr(r, e, &mut Ctx::plain(scope, clause))?;
    expect_condition(r, &c, e.span, clause)?;
    Some(c)
}

fn has_aggregate(e: &ast::Expr) -> bool {
    if let A::Function(f) = &e.kind {
        if f.over.is_some() {
            return false;
        }
        if functions::lookup(&f.name.name).is_some_and(|i| matches!(i.kind, FunctionKind::Aggregate | FunctionKind::GroupWindowProperty)) {
            return true;
        }
    }
    e.children().into_iter().any(has_aggregate)
}

fn is_group_window_call(e: &ast::Expr) -> bool {
    matches!(&e.kind, A::Function(f) if functions::lookup(&f.name.name).is_some_and(|i| i.kind == FunctionKind::GroupWindow))
}

impl GroupWindow {
    fn clone_info(&self) -> GroupWindow {
        GroupWindow { function: self.function.clone(), args: self.args.clone(), time: self.time, time_type: self.time_type.clone() }
    }
}

/// A legacy `GROUP BY TUMBLE(ts, size)` / `HOP(ts, slide, size)` / `SESSION(ts, gap)`.
#[allow(clippy::type_complexity)]
fn group_window(r: &mut Resolver, s: &ast::Select, scope: &Scope) -> Option<Option<(GroupWindow, (WindowKind, usize))>> {
    let calls: Vec<&ast::Expr> = s
        .group_by
        .iter()
        .filter_map(|g| match g {
            ast::GroupItem::Expr(e) if is_group_window_call(e) => Some(e),
            _ => None,
        })
        .collect();
    let Some(e) = calls.first() else { return Some(None) };
    if calls.len() > 1 {
        r.report(Diagnostic::error(Code::InvalidWindow, "GROUP BY may have only one group window").at(calls[1].span, "second window"));
        return None;
    }
    let A::Function(f) = &e.kind else { return None };
    let name = f.name.name.to_ascii_uppercase();
    let expected = if name == "HOP" { 3 } else { 2 };
    if f.args.len() != expected {
        r.report(
            Diagnostic::error(Code::InvalidWindow, format!("{name} takes {expected} arguments, but {} were given", f.args.len()))
                .at(e.span, "wrong number of arguments")
                .with_help(match name.as_str() {
                    "HOP" => "HOP(time_attr, slide_interval, size_interval)",
                    "SESSION" => "SESSION(time_attr, gap_interval)",
                    _ => "TUMBLE(time_attr, size_interval)",
                }),
        );
        return None;
    }
    let time = resolve_expr(r, &f.args[0], &mut Ctx::plain(scope, "GROUP BY"))?;
    let (column, attr) = match &time.kind {
        ExprKind::Column(i) => (*i, scope.fields().nth(*i).and_then(|f| f.time)),
        _ => (0, None),
    };
    let Some(attr) = attr else {
        r.report(not_time_attribute(&f.args[0], &time.ty, &format!("the group window {name}")));
        return None;
    };
    let mut ms = Vec::new();
    for a in &f.args[1..] {
        ms.push(constant_interval(r, a)?);
    }
    let kind = match name.as_str() {
        "HOP" => WindowKind::Hop { slide_ms: ms[0], size_ms: ms[1], offset_ms: 0 },
        "SESSION" => WindowKind::Session { gap_ms: ms[0], partition_by: Vec::new() },
        _ => WindowKind::Tumble { size_ms: ms[0], offset_ms: 0 },
    };
    let info = GroupWindow { function: name, args: f.args.clone(), time: Some(attr), time_type: time.ty.clone() };
    Some(Some((info, (kind, column))))
}

fn not_time_attribute(e: &ast::Expr, ty: &Type, what: &str) -> Diagnostic {
    Diagnostic::error(Code::NotTimeAttribute, format!("{what} needs a time attribute, but this is a plain {ty}"))
        .at(e.span, "not a time attribute")
        .with_help("use a column with a WATERMARK (event time) or a PROCTIME() column; time attributes are lost through expressions, regular joins and non-windowed aggregates")
}

/// A constant day-time interval (window sizes, gaps), in milliseconds.
fn constant_interval(r: &mut Resolver, e: &ast::Expr) -> Option<i64> {
    let mut cur = e;
    while let A::Nested(inner) = &cur.kind {
        cur = inner;
    }
    let ms = match &cur.kind {
        A::Literal(ast::Literal::Interval(i)) => match literal::interval(i) {
            Ok(literal::Interval::Millis(ms)) => Some(ms),
            Ok(literal::Interval::Months(_)) => {
                r.report(
                    Diagnostic::error(Code::InvalidWindow, "window sizes must be day-time intervals (months and years vary in length)")
                        .at(e.span, "year-month interval"),
                );
                return None;
            }
            Err(m) => {
                r.report(Diagnostic::error(Code::InvalidLiteral, m).at(e.span, "invalid interval"));
                return None;
            }
        },
        _ => None,
    };
    match ms {
        Some(ms) if ms > 0 => Some(ms),
        Some(_) => {
            r.report(Diagnostic::error(Code::InvalidWindow, "window sizes and gaps must be positive").at(e.span, "not positive"));
            None
        }
        None => {
            r.report(
                Diagnostic::error(Code::InvalidWindow, "window sizes must be constant intervals")
                    .at(e.span, "not an interval literal")
                    .with_help("write e.g. INTERVAL '10' SECOND"),
            );
            None
        }
    }
}

/// Grouped by a window TVF's `window_start` and `window_end`?
fn tvf_windowing(group: &[Expr], input: &[Field]) -> Windowing {
    let find = |bound| {
        group.iter().position(|g| matches!(&g.kind, ExprKind::Column(i) if input.get(*i).is_some_and(|f| f.window == Some(bound))))
    };
    match (find(WindowBound::Start), find(WindowBound::End)) {
        (Some(start), Some(end)) => Windowing::Tvf { start, end },
        _ => Windowing::None,
    }
}

/// One select item (a `*` adds several) into `out` as (expression, output name).
fn select_item(r: &mut Resolver, item: &SelectItem, k: usize, ctx: &mut Ctx<'_>, out: &mut Vec<(Expr, String)>) -> Option<()> {
    let scope = ctx.scope;
    let star = |r: &mut Resolver, entries: Vec<&Entry>, span: Span, out: &mut Vec<(Expr, String)>| -> Option<()> {
        for e in entries {
            for (i, f) in e.fields.iter().enumerate() {
                let col = Expr::column(e.offset + i, f.ty.clone());
                let col = match &ctx.agg {
                    Some(agg) => match agg.group.iter().position(|g| *g == col) {
                        Some(gi) => Expr::column(gi, f.ty.clone()),
                        None => {
                            r.report(
                                Diagnostic::error(Code::NotGrouped, format!("`*` includes column `{}`, which is neither grouped nor aggregated", f.name))
                                    .at(span, "expands to ungrouped columns")
                                    .with_help("list the grouped columns instead of *"),
                            );
                            return None;
                        }
                    },
                    None => col,
                };
                out.push((col, f.name.clone()));
            }
        }
        Some(())
    };
    match item {
        SelectItem::Wildcard(span) => star(r, scope.entries.iter().collect(), *span, out),
        SelectItem::QualifiedWildcard(name) => {
            let q = &name.base().name;
            match scope.qualified(q) {
                Some(e) => star(r, vec![e], name.span, out),
                None => {
                    let quals: Vec<&str> = scope.entries.iter().filter_map(|e| e.qualifier.as_deref()).collect();
                    r.report(
                        Diagnostic::error(Code::UnknownTable, format!("`{q}.*`: no relation named `{q}` in FROM"))
                            .at(name.span, "not in FROM")
                            .with_help(format!("the relations here are {}", list_names(&quals))),
                    );
                    None
                }
            }
        }
        SelectItem::Expr { expr, alias } => {
            let x = resolve_expr(r, expr, ctx)?;
            let name = match alias {
                Some(a) => a.name.clone(),
                None => derived_name(expr).unwrap_or_else(|| format!("EXPR${k}")),
            };
            out.push((x, name));
            Some(())
        }
    }
}

/// The name a select item gets without AS: a column's or field's own name.
fn derived_name(e: &ast::Expr) -> Option<String> {
    match &e.kind {
        A::Identifier(parts) => parts.last().map(|p| p.name.clone()),
        A::Field { field, .. } => Some(field.name.clone()),
        A::Nested(inner) => derived_name(inner),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------
// FROM

fn table_ref(r: &mut Resolver, t: &ast::TableRef) -> Option<(Rel, Scope)> {
    match &t.kind {
        TableRefKind::Named { name, system_time, alias } => {
            if let Some(st) = system_time {
                r.report(
                    Diagnostic::error(Code::UnsupportedStreaming, "FOR SYSTEM_TIME AS OF belongs on the right side of a JOIN")
                        .at(st.span, "not in a join")
                        .with_help("write: FROM events e JOIN versioned FOR SYSTEM_TIME AS OF e.ts AS v ON …"),
                );
                return None;
            }
            let rel = r.relation(name)?;
            check_readable(r, &rel, name)?;
            let qualifier = alias.as_ref().map_or_else(|| name.base().name.clone(), |a| a.name.name.clone());
            aliased(r, rel, Some(qualifier), alias.as_ref(), t.span)
        }
        TableRefKind::Subquery { query: q, alias } => {
            let rel = query(r, q, None)?;
            aliased(r, rel, alias.as_ref().map(|a| a.name.name.clone()), alias.as_ref(), t.span)
        }
        TableRefKind::Function { name, args, alias } => {
            let rel = window_tvf(r, name, args, t.span)?;
            aliased(r, rel, alias.as_ref().map(|a| a.name.name.clone()), alias.as_ref(), t.span)
        }
        TableRefKind::Lateral { .. } | TableRefKind::Unnest { .. } => {
            let what = if matches!(t.kind, TableRefKind::Lateral { .. }) { "LATERAL" } else { "UNNEST" };
            r.report(
                Diagnostic::error(Code::UnsupportedFeature, format!("{what} is not supported yet"))
                    .at(t.span, "not supported"),
            );
            None
        }
        TableRefKind::Join { kind, natural, left, right, constraint } => join(r, *kind, *natural, left, right, constraint, t.span),
    }
}

fn check_readable(r: &mut Resolver, rel: &Rel, name: &ast::ObjectName) -> Option<()> {
    if let RelKind::Scan { table, .. } = &rel.kind {
        let t = r.table(*table);
        if let Some(spec) = crate::catalog::connectors::connector(&t.connector) {
            if !super::options::can_read(spec) {
                let (tname, conn, span) = (t.name.clone(), t.connector.clone(), t.span);
                r.report(
                    Diagnostic::error(Code::InvalidTableUse, format!("table `{tname}` uses connector '{conn}', which can only be written"))
                        .at(name.span, "cannot be read")
                        .also(span, "defined here"),
                );
                return None;
            }
        }
    }
    Some(())
}

/// Applies `AS alias (c1, c2, …)`.
fn aliased(r: &mut Resolver, mut rel: Rel, qualifier: Option<String>, alias: Option<&ast::TableAlias>, span: Span) -> Option<(Rel, Scope)> {
    if let Some(a) = alias.filter(|a| !a.columns.is_empty()) {
        if a.columns.len() != rel.schema.len() {
            r.report(
                Diagnostic::error(
                    Code::ColumnCountMismatch,
                    format!("alias `{}` names {} columns, but the relation has {}", a.name.name, a.columns.len(), rel.schema.len()),
                )
                .at(a.name.span, "column list does not match"),
            );
            return None;
        }
        for (f, c) in rel.schema.iter_mut().zip(&a.columns) {
            f.name = c.name.clone();
        }
    }
    let scope = Scope::single(qualifier, rel.schema.clone(), span);
    Some((rel, scope))
}

#[allow(clippy::too_many_arguments)]
fn join(
    r: &mut Resolver,
    kind: JoinKind,
    natural: bool,
    left: &ast::TableRef,
    right: &ast::TableRef,
    constraint: &ast::JoinConstraint,
    span: Span,
) -> Option<(Rel, Scope)> {
    let (l, ls) = table_ref(r, left)?;
    if natural || matches!(constraint, ast::JoinConstraint::Using(_)) {
        r.report(
            Diagnostic::error(Code::UnsupportedFeature, "NATURAL JOIN and JOIN … USING are not supported")
                .at(span, "not supported")
                .with_help("write the condition out: JOIN … ON a.k = b.k"),
        );
        return None;
    }
    // A temporal join: the right side is versioned by the left side's time.
    let mut temporal = None;
    let right_side = match &right.kind {
        TableRefKind::Named { name, system_time: Some(st), alias } => {
            let time = resolve_expr(r, st, &mut Ctx::plain(&ls, "FOR SYSTEM_TIME AS OF"))?;
            let (column, attr) = match &time.kind {
                ExprKind::Column(i) => (*i, ls.fields().nth(*i).and_then(|f| f.time)),
                _ => (0, None),
            };
            let Some(attr) = attr else {
                r.report(not_time_attribute(st, &time.ty, "FOR SYSTEM_TIME AS OF"));
                return None;
            };
            let rel = r.relation(name)?;
            check_readable(r, &rel, name)?;
            match (&rel.kind, attr) {
                (RelKind::Scan { .. }, TimeAttribute::Proctime) => {}
                (_, TimeAttribute::Proctime) => {
                    r.report(
                        Diagnostic::error(Code::UnsupportedStreaming, "a processing-time temporal join needs a lookup table, not a view or query")
                            .at(name.span, "not a table")
                            .with_help("join against a table whose connector supports lookups, e.g. 'redis'"),
                    );
                    return None;
                }
                (_, TimeAttribute::Rowtime) => {
                    let has_key = matches!(&rel.kind, RelKind::Scan { table, .. } if !r.table(*table).primary_key.is_empty());
                    let has_time = rel.schema.iter().any(|f| f.time == Some(TimeAttribute::Rowtime));
                    if !has_key || !has_time {
                        r.report(
                            Diagnostic::error(Code::UnsupportedStreaming, format!("`{}` is not a versioned table", name.base().name))
                                .at(name.span, "needs a PRIMARY KEY and a WATERMARK")
                                .with_help("an event-time temporal join looks up the version valid at the left row's time: the right table needs PRIMARY KEY (…) NOT ENFORCED and an event-time column"),
                        );
                        return None;
                    }
                }
            }
            temporal = Some(JoinType::Temporal { time: attr, left_time_column: column });
            let qualifier = alias.as_ref().map_or_else(|| name.base().name.clone(), |a| a.name.name.clone());
            aliased(r, rel, Some(qualifier), alias.as_ref(), right.span)
        }
        _ => table_ref(r, right),
    };
    let (rr, rs) = right_side?;
    let scope = ls.join(rs);
    let condition = match constraint {
        ast::JoinConstraint::On(e) => Some(condition(r, e, &scope, "ON")?),
        _ => None,
    };
    if condition.is_none() && !matches!(kind, JoinKind::Cross | JoinKind::Inner) {
        r.report(Diagnostic::error(Code::Syntax, "an outer join needs an ON condition").at(span, "no ON"));
        return None;
    }
    let mut rel = join_rel(l, rr, kind, condition, temporal.clone().unwrap_or(JoinType::Regular), span, &scope);
    if temporal.is_none() {
        if let RelKind::Join(j) = &mut rel.kind {
            j.join_type = classify_join(j, &scope);
        }
    }
    let (schema, append_only) = join_output(&rel);
    rel.schema = schema;
    rel.append_only = append_only;
    Some((rel, scope))
}

fn join_rel(l: Rel, rr: Rel, kind: JoinKind, condition: Option<Expr>, join_type: JoinType, span: Span, scope: &Scope) -> Rel {
    let schema: Vec<Field> = scope.fields().cloned().collect();
    let append_only = l.append_only && rr.append_only;
    Rel { kind: RelKind::Join(Box::new(Join { left: l, right: rr, kind, condition, join_type })), schema, append_only, span }
}

/// The output of a join: time attributes survive only joins that keep them bounded.
fn join_output(rel: &Rel) -> (Vec<Field>, bool) {
    let RelKind::Join(j) = &rel.kind else { return (rel.schema.clone(), rel.append_only) };
    let inputs_append = j.left.append_only && j.right.append_only;
    let mut schema: Vec<Field> = j.left.schema.iter().chain(&j.right.schema).cloned().collect();
    let outer = !matches!(j.kind, JoinKind::Inner | JoinKind::Cross);
    match &j.join_type {
        JoinType::Regular => {
            for f in &mut schema {
                if f.time == Some(TimeAttribute::Rowtime) {
                    f.time = None;
                }
                f.window = None;
            }
            (schema, inputs_append && !outer)
        }
        JoinType::Temporal { .. } => {
            let left = j.left.schema.len();
            for f in &mut schema[left..] {
                f.time = None;
            }
            (schema, j.left.append_only)
        }
        JoinType::Interval | JoinType::Window => (schema, inputs_append),
    }
}

/// Regular, interval (time bounds between both sides' event times) or window join.
fn classify_join(j: &Join, scope: &Scope) -> JoinType {
    let Some(cond) = &j.condition else { return JoinType::Regular };
    let fields: Vec<&Field> = scope.fields().collect();
    let left_width = j.left.schema.len();
    let mut conjuncts = Vec::new();
    split_and(cond, &mut conjuncts);
    let side_of = |e: &Expr| -> Option<(bool, &Field)> {
        let mut cols = Vec::new();
        e.columns(&mut cols);
        let first = *cols.first()?;
        let left = first < left_width;
        cols.iter().all(|&c| (c < left_width) == left).then(|| (left, fields[first]))
    };
    let time_col = |e: &Expr| -> Option<bool> {
        let mut cols = Vec::new();
        e.columns(&mut cols);
        match cols.as_slice() {
            [c] if fields[*c].time == Some(TimeAttribute::Rowtime) => Some(*c < left_width),
            _ => None,
        }
    };
    let mut window_start = false;
    let mut window_end = false;
    let mut bounded = false;
    for c in conjuncts {
        let ExprKind::Call { function, args } = &c.kind else { continue };
        match function.as_str() {
            "=" if args.len() == 2 => {
                if let (Some((la, fa)), Some((lb, fb))) = (side_of(&args[0]), side_of(&args[1])) {
                    if la != lb && fa.window.is_some() && fa.window == fb.window {
                        match fa.window {
                            Some(WindowBound::Start) => window_start = true,
                            Some(WindowBound::End) => window_end = true,
                            None => {}
                        }
                    }
                }
            }
            "<" | "<=" | ">" | ">=" if args.len() == 2 => {
                if let (Some(a), Some(b)) = (time_col(&args[0]), time_col(&args[1])) {
                    bounded |= a != b;
                }
            }
            "BETWEEN" if args.len() == 3 => {
                if let (Some(a), Some(b), Some(c)) = (time_col(&args[0]), time_col(&args[1]), time_col(&args[2])) {
                    bounded |= a != b && b == c;
                }
            }
            _ => {}
        }
    }
    if window_start && window_end {
        JoinType::Window
    } else if bounded && j.left.append_only && j.right.append_only {
        JoinType::Interval
    } else {
        JoinType::Regular
    }
}

fn split_and<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    match &e.kind {
        ExprKind::Call { function, args } if function == "AND" => args.iter().for_each(|a| split_and(a, out)),
        _ => out.push(e),
    }
}

/// `TABLE(TUMBLE|HOP|CUMULATE|SESSION(TABLE t, DESCRIPTOR(ts), …))`.
fn window_tvf(r: &mut Resolver, name: &ast::Ident, args: &[ast::TvfArg], span: Span) -> Option<Rel> {
    let upper = name.name.to_ascii_uppercase();
    let params: &[&str] = match upper.as_str() {
        "TUMBLE" => &["DATA", "TIMECOL", "SIZE", "OFFSET"],
        "HOP" => &["DATA", "TIMECOL", "SLIDE", "SIZE", "OFFSET"],
        "CUMULATE" => &["DATA", "TIMECOL", "STEP", "SIZE", "OFFSET"],
        "SESSION" => &["DATA", "TIMECOL", "GAP"],
        _ => {
            r.report(
                Diagnostic::error(Code::UnsupportedFeature, format!("table function `{}` is not supported", name.name))
                    .at(name.span, "unknown table function")
                    .with_help("the window table functions are TUMBLE, HOP, CUMULATE and SESSION"),
            );
            return None;
        }
    };
    let usage = match upper.as_str() {
        "TUMBLE" => "TUMBLE(TABLE t, DESCRIPTOR(ts), size [, offset])",
        "HOP" => "HOP(TABLE t, DESCRIPTOR(ts), slide, size [, offset])",
        "CUMULATE" => "CUMULATE(TABLE t, DESCRIPTOR(ts), step, size [, offset])",
        _ => "SESSION(TABLE t [PARTITION BY k], DESCRIPTOR(ts), gap)",
    };
    let mut slots: Vec<Option<&ast::TvfArg>> = vec![None; params.len()];
    for (i, a) in args.iter().enumerate() {
        let slot = match &a.name {
            Some(n) => params.iter().position(|p| p.eq_ignore_ascii_case(&n.name)),
            None => (i < params.len()).then_some(i),
        };
        match slot {
            Some(s) if slots[s].is_none() => slots[s] = Some(a),
            _ => {
                r.report(
                    Diagnostic::error(Code::InvalidWindow, format!("unexpected argument to {upper}"))
                        .at(a.span, "extra or repeated argument")
                        .with_help(format!("usage: {usage}")),
                );
                return None;
            }
        }
    }
    let required = if upper == "SESSION" { 3 } else { params.len() - 1 };
    if let Some(missing) = (0..required).find(|&i| slots[i].is_none()) {
        r.report(
            Diagnostic::error(Code::InvalidWindow, format!("{upper} is missing its {} argument", params[missing]))
                .at(span, "missing argument")
                .with_help(format!("usage: {usage}")),
        );
        return None;
    }
    let data = slots[0]?;
    let ast::TvfArgValue::Table { source, partition_by } = &data.value else {
        r.report(
            Diagnostic::error(Code::InvalidWindow, format!("the first argument of {upper} must be TABLE name"))
                .at(data.span, "not a table")
                .with_help(format!("usage: {usage}")),
        );
        return None;
    };
    let input = match source {
        ast::TvfTable::Named(n) => {
            let rel = r.relation(n)?;
            check_readable(r, &rel, n)?;
            rel
        }
        ast::TvfTable::Query(q) => query(r, q, None)?,
    };
    let input_scope = Scope::single(None, input.schema.clone(), data.span);
    let timecol = slots[1]?;
    let ast::TvfArgValue::Descriptor(cols) = &timecol.value else {
        r.report(
            Diagnostic::error(Code::InvalidWindow, format!("the time column of {upper} must be given as DESCRIPTOR(column)"))
                .at(timecol.span, "not a DESCRIPTOR")
                .with_help(format!("usage: {usage}")),
        );
        return None;
    };
    let [col] = cols.as_slice() else {
        r.report(Diagnostic::error(Code::InvalidWindow, "DESCRIPTOR must name exactly one time column").at(timecol.span, "one column expected"));
        return None;
    };
    let Some(time_column) = input.schema.iter().position(|f| f.name == col.name) else {
        let names: Vec<&str> = input.schema.iter().map(|f| f.name.as_str()).collect();
        let mut d = Diagnostic::error(Code::UnknownColumn, format!("DESCRIPTOR names `{}`, which is not a column of the windowed table", col.name))
            .at(col.span, "no such column");
        if let Some(s) = did_you_mean(&col.name, names.iter().copied()) {
            d = d.with_help(format!("did you mean `{s}`?"));
        }
        r.report(d);
        return None;
    };
    let time_field = input.schema[time_column].clone();
    let Some(attr) = time_field.time else {
        r.report(
            Diagnostic::error(Code::NotTimeAttribute, format!("{upper} needs a time attribute, but `{}` is a plain {}", col.name, time_field.ty))
                .at(col.span, "not a time attribute")
                .with_help("window on a column with a WATERMARK (event time) or a PROCTIME() column; time attributes are lost through expressions, regular joins and non-windowed aggregates"),
        );
        return None;
    };
    let mut interval = |i: usize| -> Option<Option<i64>> {
        match slots.get(i).copied().flatten() {
            None => Some(None),
            Some(a) => match &a.value {
                ast::TvfArgValue::Expr(e) => constant_interval(r, e).map(Some),
                _ => {
                    r.report(Diagnostic::error(Code::InvalidWindow, format!("{} must be an INTERVAL", params[i])).at(a.span, "not an interval"));
                    None
                }
            },
        }
    };
    let window = match upper.as_str() {
        "TUMBLE" => WindowKind::Tumble { size_ms: interval(2)??, offset_ms: interval(3)?.unwrap_or(0) },
        "HOP" => WindowKind::Hop { slide_ms: interval(2)??, size_ms: interval(3)??, offset_ms: interval(4)?.unwrap_or(0) },
        "CUMULATE" => {
            let step = interval(2)??;
            let size = interval(3)??;
            if size % step != 0 {
                r.report(
                    Diagnostic::error(Code::InvalidWindow, "CUMULATE's size must be a whole multiple of its step")
                        .at(span, format!("size {size} ms, step {step} ms")),
                );
                return None;
            }
            WindowKind::Cumulate { step_ms: step, size_ms: size, offset_ms: interval(4)?.unwrap_or(0) }
        }
        _ => {
            let gap = interval(2)??;
            let mut keys = Vec::new();
            for p in partition_by {
                let x = resolve_expr(r, p, &mut Ctx::plain(&input_scope, "PARTITION BY"))?;
                match x.kind {
                    ExprKind::Column(i) => keys.push(i),
                    _ => {
                        r.report(Diagnostic::error(Code::InvalidWindow, "SESSION's PARTITION BY must name columns").at(p.span, "not a column"));
                        return None;
                    }
                }
            }
            WindowKind::Session { gap_ms: gap, partition_by: keys }
        }
    };
    if upper != "SESSION" && !partition_by.is_empty() {
        r.report(Diagnostic::error(Code::InvalidWindow, format!("{upper} takes no PARTITION BY")).at(data.span, "only SESSION is partitioned"));
        return None;
    }
    let ts = match time_field.ty.kind {
        TypeKind::TimestampLtz(_) => TypeKind::TimestampLtz(3),
        _ => TypeKind::Timestamp(3),
    };
    let mut schema = input.schema.clone();
    schema.push(Field { name: "window_start".into(), ty: Type::not_null(TypeKind::Timestamp(3)), time: None, window: Some(WindowBound::Start) });
    schema.push(Field { name: "window_end".into(), ty: Type::not_null(TypeKind::Timestamp(3)), time: None, window: Some(WindowBound::End) });
    schema.push(Field { name: "window_time".into(), ty: Type::not_null(ts), time: Some(attr), window: None });
    let append_only = input.append_only;
    if !append_only {
        r.report(
            Diagnostic::error(Code::UnsupportedStreaming, format!("{upper} needs an append-only input, but its input updates its rows"))
                .at(data.span, "updating input"),
        );
        return None;
    }
    Some(Rel { kind: RelKind::Window { input: Box::new(input), window, time_column }, schema, append_only, span })
}
