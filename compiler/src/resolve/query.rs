//! Queries: FROM (tables, views, subqueries, joins, window table functions), WHERE,
//! GROUP BY and aggregates, OVER, DISTINCT, set operations, ORDER BY / LIMIT; views and
//! INSERT targets.

use super::Resolver;
use super::expr::{AggState, Ctx, GroupWindow, expect_condition, resolve_expr};
use super::from::{classify_join, join_output, join_rel, table_ref};
use super::literal;
use super::scope::{Entry, Scope};
use crate::ast::{self, ExprKind as A, JoinKind, SelectItem, SetExpr};
use crate::catalog::functions::{self, FunctionKind};
use crate::diagnostic::{Code, Diagnostic, did_you_mean, list_names};
use crate::hir::{
    self, Aggregate, Expr, ExprKind, Field, InsertPlan, JoinType, Rel, RelKind, SortKey, TimeAttribute, WindowBound,
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
                    format!(
                        "view `{}` names {} columns, but its query has {}",
                        v.name.base().name,
                        v.columns.len(),
                        rel.schema.len()
                    ),
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
    if let Some(spec) = crate::catalog::connectors::connector(&t.connector)
        && !super::options::can_write(spec)
    {
        r.report(
            Diagnostic::error(
                Code::InvalidTableUse,
                format!("table `{}` uses connector '{}', which can only be read", t.name, t.connector),
            )
            .at(ins.table.span, "cannot be written to")
            .also(t.span, "defined here"),
        );
        return None;
    }
    if ins.overwrite {
        r.report(
            Diagnostic::error(Code::UnsupportedStreaming, "INSERT OVERWRITE is not supported on a stream")
                .at(ins.table.span, "overwrite")
                .with_help("use INSERT INTO: a streaming pipeline appends or updates, it never replaces a table"),
        );
        return None;
    }
    if !ins.partition.is_empty() {
        r.report(
            Diagnostic::error(
                Code::UnsupportedFeature,
                "INSERT … PARTITION (…) with static partition values is not supported",
            )
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
                    r.report(
                        Diagnostic::error(Code::DuplicateColumn, format!("column `{}` is listed twice", c.name))
                            .at(c.span, "listed again"),
                    );
                    return None;
                }
                Some(i) => cols.push(i),
                None => {
                    let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
                    let mut d = Diagnostic::error(
                        Code::UnknownColumn,
                        format!("table `{}` has no column `{}`", t.name, c.name),
                    )
                    .at(c.span, "no such column");
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
    // A NOT NULL column left out of an explicit column list would be written NULL.
    if !ins.columns.is_empty() {
        let missing: Vec<&str> = t
            .writable_columns()
            .into_iter()
            .filter(|i| !columns.contains(i) && !t.columns[*i].ty.nullable)
            .map(|i| t.columns[i].name.as_str())
            .collect();
        if !missing.is_empty() {
            r.report(
                Diagnostic::error(
                    Code::InsertArity,
                    format!("INSERT INTO `{}` leaves out NOT NULL column(s) {}", t.name, list_names(&missing)),
                )
                .at(ins.table.span, "would be NULL")
                .with_help("list them and give them values"),
            );
            return None;
        }
    }
    if rel.schema.len() != columns.len() {
        let target: Vec<&str> = columns.iter().map(|&i| t.columns[i].name.as_str()).collect();
        r.report(
            Diagnostic::error(
                Code::InsertArity,
                format!(
                    "INSERT INTO `{}` writes {} column(s), but the query gives {}",
                    t.name,
                    columns.len(),
                    rel.schema.len()
                ),
            )
            .at(ins.query.span, format!("{} column(s) here", rel.schema.len()))
            .also(ins.table.span, format!("expects {}", list_names(&target)))
            .with_help(
                "select exactly the target's columns, in order, or name the columns: INSERT INTO t (a, b) SELECT …",
            ),
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
                    format!(
                        "column {} of the query is {}, but `{}`.`{}` is {}",
                        k + 1,
                        field.ty,
                        t.name,
                        target.name,
                        target.ty
                    ),
                )
                .at(select_item_span(&ins.query, k).unwrap_or(ins.query.span), format!("this is {}", field.ty))
                .also(target.span, format!("`{}` declared here", target.name))
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
    matches!(t.connector.as_str(), "upsert-kafka" | "redis" | "print" | "blackhole" | "rust")
}

/// The span of the `k`-th select item of a simple query, for pointing at a column.
fn select_item_span(q: &ast::Query, k: usize) -> Option<Span> {
    let SetExpr::Select(s) = &q.body else {
        return None;
    };
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
            A::Literal(ast::Literal::Number(n)) => {
                match n.parse::<usize>().ok().filter(|&i| i >= 1 && i <= rel.schema.len()) {
                    Some(i) => Expr::column(i - 1, rel.schema[i - 1].ty.clone()),
                    None => {
                        r.report(
                            Diagnostic::error(
                                Code::UnknownColumn,
                                format!("ORDER BY {n}: the query has {} columns", rel.schema.len()),
                            )
                            .at(o.expr.span, "no such column"),
                        );
                        return None;
                    }
                }
            }
            _ => {
                let (found, failed) = r.quietly(|r| resolve_expr(r, &o.expr, &mut Ctx::plain(&scope, "ORDER BY")));
                match found {
                    Some(x) if !failed => x,
                    _ => {
                        r.report(
                            Diagnostic::error(
                                Code::UnsupportedFeature,
                                "ORDER BY may only use the columns the query selects",
                            )
                            .at(o.expr.span, "not a selected column")
                            .with_help("add it to the SELECT list (with an alias if needed) and order by that name"),
                        );
                        return None;
                    }
                }
            }
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
    if limit.is_none()
        && let Some(first) = keys.first()
    {
        let time = match &first.expr.kind {
            ExprKind::Column(i) => rel.schema[*i].time,
            _ => None,
        };
        if time.is_none() || first.desc {
            r.report(
                Diagnostic::error(
                    Code::UnsupportedStreaming,
                    "a streaming ORDER BY must start with a time attribute, ascending",
                )
                .at(q.order_by[0].expr.span, "cannot sort an unbounded stream by this")
                .with_help("add a LIMIT for a Top-N query, or order by the event-time column"),
            );
            return None;
        }
    }
    let append_only = rel.append_only && limit.is_none();
    let schema = rel.schema.clone();
    rel = Rel { kind: RelKind::Sort { input: Box::new(rel), keys, limit, offset }, schema, append_only, span: q.span };
    Some(rel)
}

fn view_rel(r: &mut Resolver, v: &ast::CreateView) -> Option<Rel> {
    view(r, v)
}

fn constant_count(r: &mut Resolver, e: &ast::Expr, what: &str) -> Option<u64> {
    match &e.kind {
        A::Literal(ast::Literal::Number(n)) if n.parse::<u64>().is_ok() => n.parse().ok(),
        _ => {
            r.report(
                Diagnostic::error(Code::InvalidLiteral, format!("{what} must be a whole number"))
                    .at(e.span, "not a constant count"),
            );
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
                    Diagnostic::error(
                        Code::NoCommonType,
                        format!("UNION column `{}` is {} on one side and {} on the other", a.name, a.ty, b.ty),
                    )
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
                        Diagnostic::error(
                            Code::NoCommonType,
                            format!("VALUES column {} mixes {} and {}", i + 1, types[i], x.ty),
                        )
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
    if let Some((_, span)) = &s.window_clause {
        r.report(
            Diagnostic::error(Code::UnsupportedFeature, "named windows (WINDOW w AS …) are not supported")
                .at(*span, "named window")
                .with_help("write the window out in each OVER (PARTITION BY … ORDER BY …)"),
        );
        return None;
    }
    // FROM: each comma-separated item, then cross/inner joined with WHERE as condition.
    let (mut rel, scope, where_used) = if s.from.is_empty() {
        let rel = Rel {
            kind: RelKind::Values { rows: vec![Vec::new()] },
            schema: Vec::new(),
            append_only: true,
            span: s.span,
        };
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
        check_aliases(r, &scope)?;
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
        || s.items.iter().any(|i| matches!(i, SelectItem::Expr { expr, .. } if has_aggregate(r, expr)))
        || s.having.as_ref().is_some_and(|h| has_aggregate(r, h));

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
            agg: Some(AggState {
                group,
                window: group_window.as_ref().map(|(w, _)| w.clone_info()),
                calls: Vec::new(),
            }),
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
                    let keeps_time = windowing != Windowing::None
                        && f.time == Some(TimeAttribute::Rowtime)
                        && f.name == "window_time";
                    Field {
                        name: f.name.clone(),
                        ty: g.ty.clone(),
                        time: keeps_time.then_some(TimeAttribute::Rowtime),
                        window: f.window,
                    }
                }
                _ => Field { name: format!("$group{i}"), ty: g.ty.clone(), time: None, window: None },
            })
            .collect();
        if let Some((w, _)) = &group_window {
            let ts = if matches!(w.time_type.kind, TypeKind::TimestampLtz(_)) {
                TypeKind::TimestampLtz(3)
            } else {
                TypeKind::Timestamp(3)
            };
            schema.push(Field {
                name: "$window_start".into(),
                ty: Type::not_null(TypeKind::Timestamp(3)),
                time: None,
                window: Some(WindowBound::Start),
            });
            schema.push(Field {
                name: "$window_end".into(),
                ty: Type::not_null(TypeKind::Timestamp(3)),
                time: None,
                window: Some(WindowBound::End),
            });
            schema.push(Field { name: "$window_time".into(), ty: Type::not_null(ts), time: w.time, window: None });
        }
        for (i, c) in agg.calls.iter().enumerate() {
            schema.push(Field { name: format!("$agg{i}"), ty: c.ty.clone(), time: None, window: None });
        }
        let append_only = windowing != Windowing::None && rel.append_only;
        rel = Rel {
            kind: RelKind::Aggregate(Box::new(Aggregate {
                input: rel,
                group_by: agg.group,
                aggregates: agg.calls,
                windowing,
            })),
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
            // Ranking updates earlier results, except deduplication on time (keep the
            // first row) and Top-N within windows (emitted once, when the window closes).
            let ranks_by_value = over_calls.iter().any(|c| {
                let by_time = c.order_by.first().is_some_and(|k| {
                    !k.desc && matches!(&k.expr.kind, ExprKind::Column(i) if rel.schema[*i].time.is_some())
                });
                let bound = |b| {
                    c.partition_by
                        .iter()
                        .any(|p| matches!(&p.kind, ExprKind::Column(i) if rel.schema[*i].window == Some(b)))
                };
                let per_window = bound(WindowBound::Start) && bound(WindowBound::End);
                matches!(c.function.as_str(), "ROW_NUMBER" | "RANK" | "DENSE_RANK") && !by_time && !per_window
            });
            let append_only = rel.append_only && !ranks_by_value;
            rel = Rel {
                kind: RelKind::Over { input: Box::new(rel), calls: over_calls.clone() },
                schema,
                append_only,
                span: s.span,
            };
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
                ExprKind::Call { function, args } if function == "PROCTIME" && args.is_empty() => {
                    (Some(TimeAttribute::Proctime), None)
                }
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

/// Two relations of one FROM clause known by the same name.
pub(super) fn check_aliases(r: &mut Resolver, scope: &Scope) -> Option<()> {
    for (i, e) in scope.entries.iter().enumerate() {
        let Some(q) = &e.qualifier else { continue };
        if let Some(first) = scope.entries[..i].iter().find(|f| f.qualifier.as_ref() == Some(q)) {
            r.report(
                Diagnostic::error(Code::DuplicateAlias, format!("`{q}` names two relations in this FROM clause"))
                    .at(e.span, "second use of the name")
                    .also(first.span, "first use")
                    .with_help("give each an alias of its own: FROM t AS a JOIN t AS b"),
            );
            return None;
        }
    }
    Some(())
}

pub(super) fn filter(rel: Rel, predicate: Expr, span: Span) -> Rel {
    let schema = rel.schema.clone();
    let append_only = rel.append_only;
    let _ = span;
    let span = rel.span;
    Rel { kind: RelKind::Filter { input: Box::new(rel), predicate }, schema, append_only, span }
}

pub(super) fn condition(r: &mut Resolver, e: &ast::Expr, scope: &Scope, clause: &'static str) -> Option<Expr> {
    let c = resolve_expr(r, e, &mut Ctx::plain(scope, clause))?;
    expect_condition(r, &c, e.span, clause)?;
    Some(c)
}

fn has_aggregate(r: &Resolver, e: &ast::Expr) -> bool {
    if let A::Function(f) = &e.kind {
        if f.over.is_some() {
            return false;
        }
        if r.is_rust_aggregate(&f.name.name)
            || functions::lookup(&f.name.name).is_some_and(|i| i.kind == FunctionKind::Aggregate)
        {
            return true;
        }
    }
    e.children().into_iter().any(|c| has_aggregate(r, c))
}

fn is_group_window_call(e: &ast::Expr) -> bool {
    matches!(&e.kind, A::Function(f) if functions::lookup(&f.name.name).is_some_and(|i| i.kind == FunctionKind::GroupWindow))
}

impl GroupWindow {
    fn clone_info(&self) -> GroupWindow {
        GroupWindow {
            function: self.function.clone(),
            args: self.args.clone(),
            time: self.time,
            time_type: self.time_type.clone(),
        }
    }
}

/// A legacy `GROUP BY TUMBLE(ts, size)` / `HOP(ts, slide, size)` / `SESSION(ts, gap)`.
#[allow(clippy::type_complexity)]
fn group_window(
    r: &mut Resolver,
    s: &ast::Select,
    scope: &Scope,
) -> Option<Option<(GroupWindow, (WindowKind, usize))>> {
    let calls: Vec<&ast::Expr> = s
        .group_by
        .iter()
        .filter_map(|g| match g {
            ast::GroupItem::Expr(e) if is_group_window_call(e) => Some(e),
            _ => None,
        })
        .collect();
    let Some(e) = calls.first() else {
        return Some(None);
    };
    if calls.len() > 1 {
        r.report(
            Diagnostic::error(Code::InvalidWindow, "GROUP BY may have only one group window")
                .at(calls[1].span, "second window"),
        );
        return None;
    }
    let A::Function(f) = &e.kind else { return None };
    let name = f.name.name.to_ascii_uppercase();
    let expected = if name == "HOP" { 3 } else { 2 };
    if f.args.len() != expected {
        r.report(
            Diagnostic::error(
                Code::InvalidWindow,
                format!("{name} takes {expected} arguments, but {} were given", f.args.len()),
            )
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

pub(super) fn not_time_attribute(e: &ast::Expr, ty: &Type, what: &str) -> Diagnostic {
    Diagnostic::error(Code::NotTimeAttribute, format!("{what} needs a time attribute, but this is a plain {ty}"))
        .at(e.span, "not a time attribute")
        .with_help("use a column with a WATERMARK (event time) or a PROCTIME() column; time attributes are lost through expressions, regular joins and non-windowed aggregates")
}

/// A constant day-time interval (window sizes, gaps), in milliseconds.
pub(super) fn constant_interval(r: &mut Resolver, e: &ast::Expr) -> Option<i64> {
    let mut cur = e;
    while let A::Nested(inner) = &cur.kind {
        cur = inner;
    }
    let ms = match &cur.kind {
        A::Literal(ast::Literal::Interval(i)) => match literal::interval(i) {
            Ok(literal::Interval::Millis(ms)) => Some(ms),
            Ok(literal::Interval::Months(_)) => {
                r.report(
                    Diagnostic::error(
                        Code::InvalidWindow,
                        "window sizes must be day-time intervals (months and years vary in length)",
                    )
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
            r.report(
                Diagnostic::error(Code::InvalidWindow, "window sizes and gaps must be positive")
                    .at(e.span, "not positive"),
            );
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
        group.iter().position(
            |g| matches!(&g.kind, ExprKind::Column(i) if input.get(*i).is_some_and(|f| f.window == Some(bound))),
        )
    };
    match (find(WindowBound::Start), find(WindowBound::End)) {
        (Some(start), Some(end)) => Windowing::Tvf { start, end },
        _ => Windowing::None,
    }
}

/// One select item (a `*` adds several) into `out` as (expression, output name).
fn select_item(
    r: &mut Resolver,
    item: &SelectItem,
    k: usize,
    ctx: &mut Ctx<'_>,
    out: &mut Vec<(Expr, String)>,
) -> Option<()> {
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
                                Diagnostic::error(
                                    Code::NotGrouped,
                                    format!(
                                        "`*` includes column `{}`, which is neither grouped nor aggregated",
                                        f.name
                                    ),
                                )
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
