//! `CREATE TABLE` → [`hir::Table`]: column types, computed and metadata columns, the
//! watermark, keys, and the connector's options.

use super::Resolver;
use super::datatype::resolve_type;
use super::expr::{Ctx, resolve_expr};
use super::scope::Scope;
use crate::ast::{self, ColumnKind as AstColumn};
use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::hir::{self, Column, ColumnKind, ExprKind, Field, TimeAttribute, WatermarkSpec};
use crate::span::Span;
use crate::types::TypeKind;

/// Resolves a table definition; `None` if it is unusable (reported).
pub fn create_table(r: &mut Resolver, t: &ast::CreateTable, span: Span) -> Option<hir::Table> {
    let name = t.name.base().name.clone();
    if let Some(like) = &t.like {
        // Its columns and options would come from the other table: checking this one
        // alone would only report what LIKE provides.
        r.report(
            Diagnostic::error(Code::UnsupportedFeature, "CREATE TABLE … LIKE is not supported")
                .at(like.span, "not supported")
                .with_help("write the columns and options out in full"),
        );
        return None;
    }
    if t.columns.is_empty() {
        r.report(
            Diagnostic::error(Code::Syntax, format!("table `{name}` has no columns"))
                .at(t.name.span, "no column list")
                .with_help("declare its columns: CREATE TABLE t (id BIGINT, …) WITH (…)"),
        );
        return None;
    }
    let mut ok = true;
    let mut columns: Vec<Column> = Vec::new();
    let mut seen: Vec<(&str, Span)> = Vec::new();
    for c in &t.columns {
        if let Some((_, first)) = seen.iter().find(|(n, _)| *n == c.name.name) {
            r.report(
                Diagnostic::error(
                    Code::DuplicateColumn,
                    format!("column `{}` is defined twice in `{name}`", c.name.name),
                )
                .at(c.name.span, "defined again here")
                .also(*first, "first defined here"),
            );
            ok = false;
            continue;
        }
        seen.push((&c.name.name, c.name.span));
        match &c.kind {
            AstColumn::Physical { ty, not_null } => match resolve_type(r, ty, !not_null) {
                Some(ty) => columns.push(Column {
                    name: c.name.name.clone(),
                    ty,
                    kind: ColumnKind::Physical,
                    time: None,
                    span: c.span,
                }),
                None => ok = false,
            },
            AstColumn::Metadata { ty, key, is_virtual } => match resolve_type(r, ty, true) {
                Some(ty) => columns.push(Column {
                    name: c.name.name.clone(),
                    ty,
                    kind: ColumnKind::Metadata {
                        key: key.as_ref().map_or_else(|| c.name.name.clone(), |k| k.value.clone()),
                        is_virtual: *is_virtual,
                    },
                    time: None,
                    span: c.span,
                }),
                None => ok = false,
            },
            AstColumn::Computed { .. } => {}
        }
    }
    // Computed columns see the physical and metadata columns (as in Flink).
    let base: Vec<Field> =
        columns.iter().map(|c| Field { name: c.name.clone(), ty: c.ty.clone(), time: None, window: None }).collect();
    let scope = Scope::single(Some(name.clone()), base, t.name.span);
    let mut computed = Vec::new();
    for c in &t.columns {
        if let AstColumn::Computed { expr } = &c.kind {
            if columns.iter().any(|x| x.name == c.name.name) {
                continue;
            }
            let mut ctx = Ctx::plain(&scope, "a computed column");
            match resolve_expr(r, expr, &mut ctx) {
                Some(e) => {
                    let time = is_proctime(&e).then_some(TimeAttribute::Proctime);
                    computed.push(Column {
                        name: c.name.name.clone(),
                        ty: e.ty.clone(),
                        kind: ColumnKind::Computed(e),
                        time,
                        span: c.span,
                    });
                }
                None => ok = false,
            }
        }
    }
    // Keep the declared order: computed columns stand where they were written.
    let mut ordered = Vec::with_capacity(t.columns.len());
    for c in &t.columns {
        let from = match &c.kind {
            AstColumn::Computed { .. } => {
                computed.iter().position(|x: &Column| x.name == c.name.name).map(|i| computed.remove(i))
            }
            _ => columns.iter().position(|x| x.name == c.name.name).map(|i| columns.remove(i)),
        };
        if let Some(col) = from
            && !ordered.iter().any(|x: &Column| x.name == col.name)
        {
            ordered.push(col);
        }
    }
    let mut columns = ordered;

    let watermark = watermark(r, t, &mut columns, &name);
    if t.watermark.len() > 1 {
        r.report(
            Diagnostic::error(Code::InvalidWatermark, format!("table `{name}` has more than one WATERMARK"))
                .at(t.watermark[1].span, "second watermark")
                .also(t.watermark[0].span, "first watermark"),
        );
        ok = false;
    }

    let column_index = |r: &mut Resolver, columns: &[Column], ident: &ast::Ident, what: &str| -> Option<usize> {
        let found = columns.iter().position(|c| c.name == ident.name);
        if found.is_none() {
            let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
            let mut d = Diagnostic::error(
                Code::UnknownColumn,
                format!("{what} names `{}`, which is not a column of `{name}`", ident.name),
            )
            .at(ident.span, "no such column");
            if let Some(s) = did_you_mean(&ident.name, names) {
                d = d.with_help(format!("did you mean `{s}`?"));
            }
            r.report(d);
        }
        found
    };
    let mut primary_key = Vec::new();
    if t.primary_key.len() > 1 {
        r.report(
            Diagnostic::error(Code::DuplicateName, format!("table `{name}` has more than one PRIMARY KEY"))
                .at(t.primary_key[1].span, "second key"),
        );
    }
    if let Some(pk) = t.primary_key.first() {
        if !pk.not_enforced {
            r.report(
                Diagnostic::error(Code::UnsupportedFeature, "PRIMARY KEY must be declared NOT ENFORCED")
                    .at(pk.span, "enforced keys are not supported")
                    .with_help("Flink and dflc do not check keys: write PRIMARY KEY (…) NOT ENFORCED"),
            );
        }
        for k in &pk.columns {
            match column_index(r, &columns, k, "PRIMARY KEY") {
                Some(i) => {
                    if matches!(columns[i].kind, ColumnKind::Computed(_)) {
                        r.report(
                            Diagnostic::error(
                                Code::UnsupportedFeature,
                                format!("computed column `{}` cannot be part of the primary key", k.name),
                            )
                            .at(k.span, "computed"),
                        );
                    }
                    columns[i].ty.nullable = false;
                    primary_key.push(i);
                }
                None => ok = false,
            }
        }
    }
    let mut partitioned_by = Vec::new();
    for p in &t.partitioned_by {
        match column_index(r, &columns, p, "PARTITIONED BY") {
            Some(i) => partitioned_by.push(i),
            None => ok = false,
        }
    }
    let column_names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    let checked = super::options::check_table(r, &name, t.name.span, &t.options, &column_names);
    if !ok {
        return None;
    }
    let checked = checked?;
    if !connector_schema(r, t, &columns, checked.connector.name) {
        return None;
    }
    Some(hir::Table {
        name,
        columns,
        watermark,
        primary_key,
        partitioned_by,
        connector: checked.connector.name.to_string(),
        options: checked.options,
        span,
    })
}

/// The connector's rules on keys and metadata columns.
fn connector_schema(r: &mut Resolver, t: &ast::CreateTable, columns: &[Column], connector: &str) -> bool {
    use crate::catalog::connectors::{metadata_keys, primary_key_rule};
    let mut ok = true;
    match (primary_key_rule(connector), t.primary_key.first()) {
        (Some(true), None) => {
            r.report(
                Diagnostic::error(Code::ConnectorSchema, format!("'{connector}' tables need a PRIMARY KEY"))
                    .at(t.name.span, "no primary key")
                    .with_help("the key decides which row an update replaces: add PRIMARY KEY (…) NOT ENFORCED"),
            );
            ok = false;
        }
        (Some(false), Some(pk)) => {
            r.report(
                Diagnostic::error(Code::ConnectorSchema, format!("'{connector}' tables cannot have a PRIMARY KEY"))
                    .at(pk.span, "not possible here")
                    .with_help(if connector == "kafka" {
                        "a Kafka topic is an append-only log; use 'upsert-kafka' to keep the latest row per key"
                    } else {
                        "this connector only appends rows; remove the PRIMARY KEY"
                    }),
            );
            ok = false;
        }
        _ => {}
    }
    if connector == "redis" {
        ok &= redis_schema(r, t, columns);
    }
    let keys = metadata_keys(connector);
    for c in columns {
        let ColumnKind::Metadata { key, .. } = &c.kind else { continue };
        if !keys.contains(&key.as_str()) {
            let mut d = Diagnostic::error(Code::ConnectorSchema, format!("'{connector}' has no metadata key '{key}'"))
                .at(c.span, "unknown metadata");
            d = match (keys.is_empty(), did_you_mean(key, keys.iter().copied())) {
                (true, _) => d.with_help(format!("'{connector}' provides no metadata columns")),
                (false, Some(s)) => d.with_help(format!("did you mean '{s}'?")),
                (false, None) => d.with_help(format!("its metadata keys are {}", crate::diagnostic::list_names(keys))),
            };
            r.report(d);
            ok = false;
        }
    }
    ok
}

/// A Redis table's key: its `'key'` template names columns of the table, or it has a
/// PRIMARY KEY to build one; a `'raw'` string value is the one column not in the key.
fn redis_schema(r: &mut Resolver, t: &ast::CreateTable, columns: &[Column]) -> bool {
    let option = |name: &str| t.options.iter().find(|o| o.key.value == name).map(|o| &o.value);
    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    let mut key_columns: Vec<String> = Vec::new();
    let mut ok = true;
    match option("key") {
        Some(template) => {
            let text = template.value.replace("{{", "").replace("}}", "");
            for part in text.split('{').skip(1) {
                let Some((name, _)) = part.split_once('}') else {
                    r.report(
                        Diagnostic::error(Code::InvalidOptionValue, "the 'key' template has a '{' without its '}'")
                            .at(template.span, "unclosed placeholder")
                            .with_help("write placeholders as {column}, and literal braces as {{ and }}"),
                    );
                    return false;
                };
                let name = name.trim();
                if !names.contains(&name) {
                    let mut d = Diagnostic::error(
                        Code::InvalidOptionValue,
                        format!("the 'key' template names `{name}`, which is not a column of `{}`", t.name.base().name),
                    )
                    .at(template.span, "unknown column");
                    d = match did_you_mean(name, names.iter().copied()) {
                        Some(s) => d.with_help(format!("did you mean {{{s}}}?")),
                        None => d.with_help(format!("its columns are {}", crate::diagnostic::list_names(&names))),
                    };
                    r.report(d);
                    ok = false;
                }
                key_columns.push(name.to_string());
            }
        }
        None => match t.primary_key.first() {
            Some(pk) => key_columns = pk.columns.iter().map(|c| c.name.clone()).collect(),
            None => {
                r.report(
                    Diagnostic::error(Code::ConnectorSchema, "a 'redis' table needs a PRIMARY KEY or a 'key' template")
                        .at(t.name.span, "no key")
                        .with_help("Redis stores rows by key: add PRIMARY KEY (…) NOT ENFORCED, or 'key' = 'profile:{user_id}'"),
                );
                return false;
            }
        },
    }
    let raw = option("data-type").is_some_and(|v| v.value.eq_ignore_ascii_case("string"))
        && option("value.format").is_some_and(|v| v.value.eq_ignore_ascii_case("raw"));
    let values = names.iter().filter(|n| !key_columns.iter().any(|k| k == *n)).count();
    if raw && values != 1 {
        let at = option("value.format").map_or(t.name.span, |v| v.span);
        r.report(
            Diagnostic::error(
                Code::InvalidOptionValue,
                format!(
                    "a 'raw' Redis value is one column, but `{}` has {values} columns outside its key",
                    t.name.base().name
                ),
            )
            .at(at, "raw value")
            .with_help("store the row as a JSON object ('value.format' = 'json'), or as a hash ('data-type' = 'hash')"),
        );
        ok = false;
    }
    ok
}

fn is_proctime(e: &hir::Expr) -> bool {
    matches!(&e.kind, ExprKind::Call { function, args } if function == "PROCTIME" && args.is_empty())
}

/// Resolves the (first) WATERMARK and marks its column as the rowtime attribute.
fn watermark(r: &mut Resolver, t: &ast::CreateTable, columns: &mut [Column], table: &str) -> Option<WatermarkSpec> {
    let w = t.watermark.first()?;
    let Some(index) = columns.iter().position(|c| c.name == w.column.name) else {
        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        let mut d = Diagnostic::error(
            Code::InvalidWatermark,
            format!("WATERMARK FOR `{}`: no such column in `{table}`", w.column.name),
        )
        .at(w.column.span, "no such column");
        if let Some(s) = did_you_mean(&w.column.name, names) {
            d = d.with_help(format!("did you mean `{s}`?"));
        }
        r.report(d);
        return None;
    };
    let column_ty = columns[index].ty.clone();
    let precision_ok = match column_ty.kind {
        TypeKind::Timestamp(p) | TypeKind::TimestampLtz(p) => p <= 3,
        _ => false,
    };
    if !precision_ok {
        r.report(
            Diagnostic::error(
                Code::InvalidWatermark,
                format!("the watermark column `{}` must be TIMESTAMP(3) or TIMESTAMP_LTZ(3), but it is {column_ty}", w.column.name),
            )
            .at(w.column.span, "not an event-time column")
            .with_help("convert it in a computed column, e.g. ts AS TO_TIMESTAMP_LTZ(epoch_millis, 3), and put the watermark on that"),
        );
        return None;
    }
    let fields: Vec<Field> =
        columns.iter().map(|c| Field { name: c.name.clone(), ty: c.ty.clone(), time: None, window: None }).collect();
    let scope = Scope::single(Some(table.to_string()), fields, t.name.span);
    let mut ctx = Ctx::plain(&scope, "a WATERMARK");
    let expr = resolve_expr(r, &w.expr, &mut ctx)?;
    if !expr.ty.is_timestamp() {
        r.report(
            Diagnostic::error(
                Code::InvalidWatermark,
                format!("the watermark expression must give a timestamp, not {}", expr.ty),
            )
            .at(w.expr.span, "not a timestamp")
            .with_help(format!("the usual form is `{} - INTERVAL '5' SECOND`", w.column.name)),
        );
        return None;
    }
    columns[index].time = Some(TimeAttribute::Rowtime);
    let max_out_of_orderness_ms = bounded_delay(&expr, index);
    Some(WatermarkSpec { column: index, expr, max_out_of_orderness_ms })
}

/// `col` → 0, `col - INTERVAL …` → the interval: the usual bounded out-of-orderness.
fn bounded_delay(e: &hir::Expr, column: usize) -> Option<i64> {
    match &e.kind {
        ExprKind::Column(c) if *c == column => Some(0),
        ExprKind::Call { function, args } if function == "-" && args.len() == 2 => {
            match (&args[0].kind, &args[1].kind) {
                (ExprKind::Column(c), ExprKind::Literal(hir::Value::IntervalMs(ms))) if *c == column => Some(*ms),
                _ => None,
            }
        }
        _ => None,
    }
}
