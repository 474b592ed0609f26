//! FROM: tables, views and subqueries with their aliases, joins (regular, interval,
//! window and temporal) and the window table functions.

use super::Resolver;
use super::expr::{Ctx, resolve_expr};
use super::query::{check_aliases, condition, constant_interval, not_time_attribute, query};
use super::scope::Scope;
use crate::ast::{self, JoinKind, TableRefKind};
use crate::diagnostic::{Code, Diagnostic, did_you_mean, list_names};
use crate::hir::{Expr, ExprKind, Field, Join, JoinType, Rel, RelKind, TimeAttribute, WindowBound, WindowKind};
use crate::span::Span;
use crate::types::{Type, TypeKind};

pub(super) fn table_ref(r: &mut Resolver, t: &ast::TableRef) -> Option<(Rel, Scope)> {
    match &t.kind {
        TableRefKind::Named { name, system_time, alias } => {
            if let Some(st) = system_time {
                r.report(
                    Diagnostic::error(
                        Code::UnsupportedStreaming,
                        "FOR SYSTEM_TIME AS OF belongs on the right side of a JOIN",
                    )
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
        TableRefKind::Unsupported { feature, .. } => {
            r.report(
                Diagnostic::error(Code::UnsupportedFeature, format!("{feature} is not supported yet"))
                    .at(t.span, "not supported")
                    .with_help(match feature.as_str() {
                        "MATCH_RECOGNIZE" => "pattern matching over rows is not available in dflc",
                        _ => "table functions over a row's values are not available in dflc yet",
                    }),
            );
            None
        }
        TableRefKind::Join { kind, natural, left, right, constraint } => {
            join(r, *kind, *natural, left, right, constraint, t.span)
        }
    }
}

fn check_readable(r: &mut Resolver, rel: &Rel, name: &ast::ObjectName) -> Option<()> {
    if let RelKind::Scan { table, .. } = &rel.kind {
        let t = r.table(*table);
        if let Some(spec) = crate::catalog::connectors::connector(&t.connector)
            && !super::options::can_read(spec)
        {
            let (tname, conn, span) = (t.name.clone(), t.connector.clone(), t.span);
            r.report(
                Diagnostic::error(
                    Code::InvalidTableUse,
                    format!("table `{tname}` uses connector '{conn}', which can only be written"),
                )
                .at(name.span, "cannot be read")
                .also(span, "defined here"),
            );
            return None;
        }
    }
    Some(())
}

/// Applies `AS alias (c1, c2, …)`.
fn aliased(
    r: &mut Resolver,
    mut rel: Rel,
    qualifier: Option<String>,
    alias: Option<&ast::TableAlias>,
    span: Span,
) -> Option<(Rel, Scope)> {
    if let Some(a) = alias.filter(|a| !a.columns.is_empty()) {
        if a.columns.len() != rel.schema.len() {
            r.report(
                Diagnostic::error(
                    Code::ColumnCountMismatch,
                    format!(
                        "alias `{}` names {} columns, but the relation has {}",
                        a.name.name,
                        a.columns.len(),
                        rel.schema.len()
                    ),
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
                (RelKind::Scan { table, .. }, TimeAttribute::Proctime) => {
                    let t = r.table(*table);
                    if !LOOKUP_CONNECTORS.contains(&t.connector.as_str()) {
                        let connector = t.connector.clone();
                        r.report(
                            Diagnostic::error(Code::UnsupportedStreaming, format!("`{}` ('{connector}') cannot be looked up", name.base().name))
                                .at(name.span, "not a lookup table")
                                .with_help(format!(
                                    "a processing-time temporal join needs a lookup connector ({}); to join a changelog by event time, use an event-time attribute in FOR SYSTEM_TIME AS OF",
                                    list_names(LOOKUP_CONNECTORS)
                                )),
                        );
                        return None;
                    }
                }
                (_, TimeAttribute::Proctime) => {
                    r.report(
                        Diagnostic::error(
                            Code::UnsupportedStreaming,
                            "a processing-time temporal join needs a lookup table, not a view or query",
                        )
                        .at(name.span, "not a table")
                        .with_help("join against a table whose connector supports lookups, e.g. 'redis'"),
                    );
                    return None;
                }
                (_, TimeAttribute::Rowtime) => {
                    let has_key =
                        matches!(&rel.kind, RelKind::Scan { table, .. } if !r.table(*table).primary_key.is_empty());
                    let has_time = rel.schema.iter().any(|f| f.time == Some(TimeAttribute::Rowtime));
                    let lookup = matches!(&rel.kind, RelKind::Scan { table, .. } if LOOKUP_CONNECTORS.contains(&r.table(*table).connector.as_str()));
                    if !has_time && lookup {
                        r.report(
                            Diagnostic::error(Code::NotTimeAttribute, format!("`{}` is a lookup table: join it by processing time", name.base().name))
                                .at(st.span, "an event-time attribute")
                                .with_help("add `proc_time AS PROCTIME()` to the left table and write FOR SYSTEM_TIME AS OF l.proc_time"),
                        );
                        return None;
                    }
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
    let left_width = ls.width();
    let scope = ls.join(rs);
    check_aliases(r, &scope)?;
    let condition = match constraint {
        ast::JoinConstraint::On(e) => Some(condition(r, e, &scope, "ON")?),
        _ => None,
    };
    if condition.is_none() && !matches!(kind, JoinKind::Cross | JoinKind::Inner) {
        r.report(Diagnostic::error(Code::Syntax, "an outer join needs an ON condition").at(span, "no ON"));
        return None;
    }
    if let (Some(JoinType::Temporal { .. }), right_ast) = (&temporal, right) {
        let keys = match &rr.kind {
            RelKind::Scan { table, .. } => r.table(*table).primary_key.clone(),
            _ => Vec::new(),
        };
        if !has_key_equality(condition.as_ref(), left_width, &keys) {
            r.report(
                Diagnostic::error(
                    Code::UnsupportedStreaming,
                    "a temporal join needs an equality between the left side and the right table's key",
                )
                .at(right_ast.span, "no key equality in ON")
                .with_help(
                    "join on the key: … ON l.user_id = r.user_id (the right table's PRIMARY KEY for a versioned table)",
                ),
            );
            return None;
        }
    }
    let mut rel = join_rel(l, rr, kind, condition, temporal.clone().unwrap_or(JoinType::Regular), span, &scope);
    if temporal.is_none()
        && let RelKind::Join(j) = &mut rel.kind
    {
        j.join_type = classify_join(j, &scope);
    }
    let (schema, append_only) = join_output(&rel);
    rel.schema = schema;
    rel.append_only = append_only;
    Some((rel, scope))
}

/// Connectors that can be looked up by key (the right side of a processing-time temporal join).
const LOOKUP_CONNECTORS: &[&str] = &["redis", "filesystem"];

/// Whether `condition` has `left expr = right column` (a key column, when `keys` is not empty).
fn has_key_equality(condition: Option<&Expr>, left_width: usize, keys: &[usize]) -> bool {
    let Some(c) = condition else { return false };
    let mut conjuncts = Vec::new();
    split_and(c, &mut conjuncts);
    conjuncts.iter().any(|e| {
        let ExprKind::Call { function, args } = &e.kind else {
            return false;
        };
        if function != "=" || args.len() != 2 {
            return false;
        }
        let right_key = |x: &Expr| match &x.kind {
            ExprKind::Column(i) if *i >= left_width => keys.is_empty() || keys.contains(&(i - left_width)),
            _ => false,
        };
        let left_only = |x: &Expr| {
            let mut cols = Vec::new();
            x.columns(&mut cols);
            cols.iter().all(|&c| c < left_width)
        };
        (right_key(&args[0]) && left_only(&args[1])) || (right_key(&args[1]) && left_only(&args[0]))
    })
}

pub(super) fn join_rel(
    l: Rel,
    rr: Rel,
    kind: JoinKind,
    condition: Option<Expr>,
    join_type: JoinType,
    span: Span,
    scope: &Scope,
) -> Rel {
    let schema: Vec<Field> = scope.fields().cloned().collect();
    let append_only = l.append_only && rr.append_only;
    Rel {
        kind: RelKind::Join(Box::new(Join { left: l, right: rr, kind, condition, join_type })),
        schema,
        append_only,
        span,
    }
}

/// The output of a join: time attributes survive only joins that keep them bounded.
pub(super) fn join_output(rel: &Rel) -> (Vec<Field>, bool) {
    let RelKind::Join(j) = &rel.kind else {
        return (rel.schema.clone(), rel.append_only);
    };
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
pub(super) fn classify_join(j: &Join, scope: &Scope) -> JoinType {
    let Some(cond) = &j.condition else {
        return JoinType::Regular;
    };
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
        let ExprKind::Call { function, args } = &c.kind else {
            continue;
        };
        match function.as_str() {
            "=" if args.len() == 2 => {
                if let (Some((la, fa)), Some((lb, fb))) = (side_of(&args[0]), side_of(&args[1]))
                    && la != lb
                    && fa.window.is_some()
                    && fa.window == fb.window
                {
                    match fa.window {
                        Some(WindowBound::Start) => window_start = true,
                        Some(WindowBound::End) => window_end = true,
                        None => {}
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
    if let Some(f) =
        input.schema.iter().find(|f| matches!(f.name.as_str(), "window_start" | "window_end" | "window_time"))
    {
        r.report(
            Diagnostic::error(Code::InvalidWindow, format!("{upper}'s input already has a column named `{}`", f.name))
                .at(data.span, "would give two window columns of that name")
                .with_help(
                    "rename the input's window columns (e.g. window_start AS prev_start) before windowing again",
                ),
        );
        return None;
    }
    let input_scope = Scope::single(None, input.schema.clone(), data.span);
    let timecol = slots[1]?;
    let ast::TvfArgValue::Descriptor(cols) = &timecol.value else {
        r.report(
            Diagnostic::error(
                Code::InvalidWindow,
                format!("the time column of {upper} must be given as DESCRIPTOR(column)"),
            )
            .at(timecol.span, "not a DESCRIPTOR")
            .with_help(format!("usage: {usage}")),
        );
        return None;
    };
    let [col] = cols.as_slice() else {
        r.report(
            Diagnostic::error(Code::InvalidWindow, "DESCRIPTOR must name exactly one time column")
                .at(timecol.span, "one column expected"),
        );
        return None;
    };
    let Some(time_column) = input.schema.iter().position(|f| f.name == col.name) else {
        let names: Vec<&str> = input.schema.iter().map(|f| f.name.as_str()).collect();
        let mut d = Diagnostic::error(
            Code::UnknownColumn,
            format!("DESCRIPTOR names `{}`, which is not a column of the windowed table", col.name),
        )
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
                    r.report(
                        Diagnostic::error(Code::InvalidWindow, format!("{} must be an INTERVAL", params[i]))
                            .at(a.span, "not an interval"),
                    );
                    None
                }
            },
        }
    };
    let window = match upper.as_str() {
        "TUMBLE" => WindowKind::Tumble { size_ms: interval(2)??, offset_ms: interval(3)?.unwrap_or(0) },
        "HOP" => {
            let slide = interval(2)??;
            let size = interval(3)??;
            if size % slide != 0 {
                r.report(
                    Diagnostic::error(Code::InvalidWindow, "HOP's size must be a whole multiple of its slide")
                        .at(span, format!("size {size} ms, slide {slide} ms"))
                        .with_help("as in Flink: e.g. a 10-minute window sliding every 1, 2 or 5 minutes"),
                );
                return None;
            }
            WindowKind::Hop { slide_ms: slide, size_ms: size, offset_ms: interval(4)?.unwrap_or(0) }
        }
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
                        r.report(
                            Diagnostic::error(Code::InvalidWindow, "SESSION's PARTITION BY must name columns")
                                .at(p.span, "not a column"),
                        );
                        return None;
                    }
                }
            }
            WindowKind::Session { gap_ms: gap, partition_by: keys }
        }
    };
    if upper != "SESSION" && !partition_by.is_empty() {
        r.report(
            Diagnostic::error(Code::InvalidWindow, format!("{upper} takes no PARTITION BY"))
                .at(data.span, "only SESSION is partitioned"),
        );
        return None;
    }
    let ts = match time_field.ty.kind {
        TypeKind::TimestampLtz(_) => TypeKind::TimestampLtz(3),
        _ => TypeKind::Timestamp(3),
    };
    let mut schema = input.schema.clone();
    schema.push(Field {
        name: "window_start".into(),
        ty: Type::not_null(TypeKind::Timestamp(3)),
        time: None,
        window: Some(WindowBound::Start),
    });
    schema.push(Field {
        name: "window_end".into(),
        ty: Type::not_null(TypeKind::Timestamp(3)),
        time: None,
        window: Some(WindowBound::End),
    });
    schema.push(Field { name: "window_time".into(), ty: Type::not_null(ts), time: Some(attr), window: None });
    let append_only = input.append_only;
    if !append_only {
        r.report(
            Diagnostic::error(
                Code::UnsupportedStreaming,
                format!("{upper} needs an append-only input, but its input updates its rows"),
            )
            .at(data.span, "updating input"),
        );
        return None;
    }
    Some(Rel { kind: RelKind::Window { input: Box::new(input), window, time_column }, schema, append_only, span })
}
