//! Reading: each connector's source, the conversion of what it emits into the table's
//! row (Nexmark events, Kafka records with their metadata columns), computed columns, the
//! task's watermark, and which JSON columns no branch reads.

use super::expr::ExprGen;
use super::rows::field_ident;
use super::{Gen, SOURCES, table_struct};
use crate::hir::{ColumnKind, Table, TableId};
use crate::plan::{Input, Origin, Pipeline, Step};
use crate::span::Span;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// `&["id", …]`: the names of the PRIMARY KEY columns of table `t`.
pub(super) fn primary_key(t: &Table) -> TokenStream {
    let pk = t.primary_key.iter().map(|&i| t.columns[i].name.as_str());
    quote!(&[#(#pk),*])
}

/// `Some(&["id", …])` for a table read as a changelog (its PRIMARY KEY), else `None`.
pub(super) fn changelog_key(t: &Table) -> TokenStream {
    match t.is_changelog_source() {
        true => {
            let pk = primary_key(t);
            quote!(Some(#pk))
        }
        false => quote!(None),
    }
}

impl Gen<'_> {
    /// The source of a table and the code turning what it emits into the table's row.
    pub(super) fn source(&mut self, id: TableId) -> (TokenStream, TokenStream) {
        let t = &self.program.tables[id.0];
        let name = &t.name;
        let ts = table_struct(t);
        let cols = super::columns_ident(t);
        for c in &t.columns {
            if let ColumnKind::Metadata { .. } = c.kind
                && t.connector != "kafka"
                && t.connector != "upsert-kafka"
            {
                self.error(c.span, format!("metadata column `{}` is not supported by code generation yet", c.name));
            }
        }
        match t.connector.as_str() {
            "kafka" if self.shuffled && self.instance => {
                // The instances of a repartitioned task read its shuffle topic (named
                // after the task: its table).
                let (validate, convert) = self.kafka_conversion(t);
                (
                    quote!(rt::connectors::kafka::shuffle::source::<#ts>(cx.table(#name)?, &#cols, #validate, #name)?),
                    convert,
                )
            }
            "kafka" if crate::parallel::per_partition(self.program) => {
                // State per partition: groups assign cooperatively by default (every Kafka
                // source of the pipeline alike: members of one group agree on the protocol).
                let (validate, convert) = self.kafka_conversion(t);
                (
                    quote!(rt::connectors::kafka::partitioned::source::<#ts>(cx.table(#name)?, &#cols, #validate)?),
                    convert,
                )
            }
            "kafka" => {
                let (validate, convert) = self.kafka_conversion(t);
                (quote!(rt::connectors::kafka::source::<#ts>(cx.table(#name)?, &#cols, #validate)?), convert)
            }
            "upsert-kafka" => {
                let (validate, convert) = self.kafka_conversion(t);
                let pk = primary_key(t);
                (
                    quote!(rt::connectors::kafka::upsert_source::<#ts>(cx.table(#name)?, &#cols, #pk, #validate)?),
                    convert,
                )
            }
            "filesystem" => (quote!(rt::connectors::filesystem::source::<#ts>(cx.table(#name)?)?), quote!(row)),
            "rust" => (quote!(rt::connectors::rust::source::<#ts>(cx, #name)?), quote!(row)),
            "datagen" => {
                let inits: Vec<TokenStream> = t
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let f = field_ident(&c.name, i);
                        match c.kind {
                            ColumnKind::Physical => quote!(#f: g.next(#i)),
                            _ => quote!(#f: None),
                        }
                    })
                    .collect();
                (
                    quote!(rt::connectors::datagen::source(cx.table(#name)?, &#cols, |g: &mut rt::connectors::datagen::RowGen| #ts { #(#inits),* })?),
                    quote!(row),
                )
            }
            "nexmark" => {
                let convert = self.nexmark_conversion(t);
                (quote!(rt::connectors::nexmark::source(cx.table(#name)?)?), convert)
            }
            other => {
                self.error(
                    t.span,
                    format!(
                        "reading '{other}' tables is not supported by code generation yet (it can read {})",
                        SOURCES.join(", ")
                    ),
                );
                (quote!(rt::connectors::nexmark::source(cx.table(#name)?)?), quote!(#ts::default()))
            }
        }
    }

    /// The task's watermark: its declaration (before the loop), the code feeding it each
    /// row's split and event time, and the code handing it the source's other events
    /// (splits starting and ending, idleness). One generator per split of the source,
    /// merged by minimum; splits go idle after the table's `'scan.watermark.idle-timeout'`
    /// (else the pipeline's `'table.exec.source.idle-timeout'`), read at run time so that
    /// `--set` can change it. Needs `WATERMARK FOR col AS col - INTERVAL …` on the table.
    pub(super) fn watermark(
        &mut self,
        t: &Table,
        frame: &[TokenStream],
    ) -> Option<(TokenStream, TokenStream, TokenStream)> {
        let Some((column, delay)) = t.watermark.as_ref().and_then(|w| Some((w.column, w.max_out_of_orderness_ms?)))
        else {
            self.error(
                t.span,
                format!(
                    "window aggregation over `{}` needs a WATERMARK of the form `ts - INTERVAL …` to compile",
                    t.name
                ),
            );
            return None;
        };
        let place = &frame[column];
        let name = &t.name;
        Some((
            quote!(let mut wm = rt::connectors::SourceWatermark::for_table(cx, #name, #delay)?;),
            quote!(wm.observe(split, #place.as_ref().map(|ts| ts.millis()));),
            quote!(wm.on_event(&event);),
        ))
    }

    /// `row.col = expr;` for each computed column, in order.
    pub(super) fn computed_columns(&mut self, t: &Table, frame: &[TokenStream]) -> Vec<TokenStream> {
        let mut out = Vec::new();
        for (i, c) in t.columns.iter().enumerate() {
            if let ColumnKind::Computed(e) = &c.kind {
                let mut g = ExprGen { rows: &mut self.rows, frame };
                match g.expr(e) {
                    Ok(code) => {
                        let f = field_ident(&c.name, i);
                        out.push(quote!(row.#f = #code;));
                    }
                    Err(what) => self.error(c.span, format!("cannot generate code for {what} yet")),
                }
            }
        }
        out
    }

    /// The primary key of a changelog source's row: code before it and the key value (a
    /// tuple of the key columns; floating-point ones totally ordered).
    pub(super) fn upsert_key(&mut self, t: &Table) -> (TokenStream, TokenStream) {
        let parts: Vec<TokenStream> = t
            .primary_key
            .iter()
            .map(|&i| {
                let c = &t.columns[i];
                let f = field_ident(&c.name, i);
                match c.ty.kind {
                    crate::types::TypeKind::Float | crate::types::TypeKind::Double => {
                        quote!(row.#f.map(rt::agg::Ordered))
                    }
                    _ => quote!(row.#f.clone()),
                }
            })
            .collect();
        (quote!(let key = (#(#parts,)*);), quote!(key))
    }

    /// A Kafka table's row from a message: the function checking a decoded row (NOT NULL
    /// columns; a failure is a bad record for the source's `scan.errors` policy — key
    /// columns are in the row already) and the code taking the record's metadata columns.
    pub(super) fn kafka_conversion(&mut self, t: &Table) -> (TokenStream, TokenStream) {
        let ts = table_struct(t);
        let mut checks = Vec::new();
        let mut metadata = Vec::new();
        for (i, c) in t.columns.iter().enumerate() {
            let f = field_ident(&c.name, i);
            match &c.kind {
                ColumnKind::Physical => {
                    if !c.ty.nullable {
                        let message = format!("column `{}` is NOT NULL but the record has no value for it", c.name);
                        checks.push(quote!(if row.#f.is_none() { return Err(#message.to_string()); }));
                    }
                }
                ColumnKind::Metadata { key, .. } => {
                    use crate::types::{MAX_LENGTH, Type, TypeKind as K};
                    let (value, natural) = match key.as_str() {
                        "topic" => (quote!(Some(record.topic.clone())), Type::not_null(K::Varchar(MAX_LENGTH))),
                        "partition" => (quote!(Some(record.partition)), Type::not_null(K::Int)),
                        "offset" => (quote!(Some(record.offset)), Type::not_null(K::BigInt)),
                        "timestamp" => (quote!(record.timestamp), Type::new(K::TimestampLtz(3))),
                        "timestamp-type" => {
                            (quote!(Some(rt::Str::new(record.timestamp_type))), Type::not_null(K::Varchar(MAX_LENGTH)))
                        }
                        "headers" => (
                            quote!(Some(record.headers.iter().map(|(k, v)| (Some(k.clone()), v.clone())).collect())),
                            Type::not_null(K::Map(
                                Box::new(Type::not_null(K::Varchar(MAX_LENGTH))),
                                Box::new(Type::new(K::Varbinary(MAX_LENGTH))),
                            )),
                        ),
                        other => {
                            self.error(
                                c.span,
                                format!(
                                    "Kafka metadata '{other}' (column `{}`) is not supported by code generation yet",
                                    c.name
                                ),
                            );
                            continue;
                        }
                    };
                    let mut g = ExprGen { rows: &mut self.rows, frame: &[] };
                    match g.cast(value, &natural, &c.ty, false) {
                        Ok(v) => metadata.push(quote!(row.#f = #v;)),
                        Err(what) => self.error(c.span, format!("metadata column `{}`: cannot convert {what}", c.name)),
                    }
                }
                ColumnKind::Computed(_) => {}
            }
        }
        let validate = quote!(|row: &#ts| -> Result<(), String> {
            #(#checks)*
            Ok(())
        });
        let convert = quote!({
            let record = row;
            let mut row = record.value;
            #(#metadata)*
            row
        });
        (validate, convert)
    }

    /// The metadata columns a Kafka sink writes into its records (`timestamp`, `headers`;
    /// the others are read-only and must be VIRTUAL), as `rt::connectors::kafka::WriteMetadata`;
    /// `None` if it writes none.
    pub(super) fn kafka_write_metadata(&mut self, t: &Table) -> Option<TokenStream> {
        use crate::types::TypeKind as K;
        let ws = super::sink_struct(t);
        let (mut positions, mut timestamp, mut headers) = (Vec::new(), quote!(None), quote!(None));
        let writable = t.columns.iter().filter(|c| super::rows::is_writable(&c.kind));
        for (w, c) in writable.enumerate() {
            let ColumnKind::Metadata { key, .. } = &c.kind else { continue };
            let f = field_ident(&c.name, w);
            positions.push(w);
            match (key.as_str(), &c.ty.kind) {
                ("timestamp", K::Timestamp(_) | K::TimestampLtz(_)) => {
                    timestamp = quote!(Some(|r: &#ws| r.#f.map(|t| t.millis())));
                }
                ("headers", K::Map(k, v))
                    if matches!(k.kind, K::Char(_) | K::Varchar(_))
                        && matches!(v.kind, K::Binary(_) | K::Varbinary(_)) =>
                {
                    headers = quote!(Some(|r: &#ws| {
                        r.#f.iter().flatten().filter_map(|(k, v)| Some((k.clone()?, v.clone()))).collect()
                    }));
                }
                ("timestamp" | "headers", _) => self.diagnostics.push(
                    crate::diagnostic::Diagnostic::error(
                        crate::diagnostic::Code::ConnectorSchema,
                        format!("Kafka metadata '{key}' written by column `{}` needs another type", c.name),
                    )
                    .at(c.span, format!("this is {}", c.ty))
                    .with_help(if key == "timestamp" {
                        "declare it TIMESTAMP_LTZ(3) (or TIMESTAMP(3))"
                    } else {
                        "declare it MAP<STRING, BYTES>"
                    }),
                ),
                (other, _) => self.diagnostics.push(
                    crate::diagnostic::Diagnostic::error(
                        crate::diagnostic::Code::ConnectorSchema,
                        format!("Kafka metadata '{other}' is read-only, but table `{}` is written", t.name),
                    )
                    .at(c.span, "written by INSERT INTO")
                    .with_help(format!(
                        "declare `{}` … METADATA FROM '{other}' VIRTUAL, so that writes skip it",
                        c.name
                    )),
                ),
            }
        }
        if positions.is_empty() {
            return None;
        }
        Some(
            quote!(rt::connectors::kafka::WriteMetadata { columns: &[#(#positions),*], timestamp: #timestamp, headers: #headers }),
        )
    }

    /// The standard Nexmark schema: each declared column taken from the generator's event.
    pub(super) fn nexmark_conversion(&mut self, t: &Table) -> TokenStream {
        let ts = table_struct(t);
        let mut inits = Vec::new();
        for (i, c) in t.columns.iter().enumerate() {
            let f = field_ident(&c.name, i);
            if !matches!(c.kind, ColumnKind::Physical) {
                inits.push(quote!(#f: None));
                continue;
            }
            let value = match (c.name.as_str(), &c.ty.kind) {
                ("event_type", crate::types::TypeKind::Int) => Some(quote!(Some(row.event_type))),
                (kind @ ("person" | "auction" | "bid"), crate::types::TypeKind::Row(fields)) => {
                    self.nexmark_row(kind, fields, c.span)
                }
                _ => None,
            };
            match value {
                Some(v) => inits.push(quote!(#f: #v)),
                None => {
                    self.error(
                        c.span,
                        format!("column `{}` {} is not part of the Nexmark schema (event_type INT, person/auction/bid ROW<…>)", c.name, c.ty),
                    );
                    inits.push(quote!(#f: None));
                }
            }
        }
        quote!(#ts { #(#inits),* })
    }

    pub(super) fn nexmark_row(
        &mut self,
        kind: &str,
        fields: &[crate::types::Field],
        span: Span,
    ) -> Option<TokenStream> {
        let id = self.rows.row(fields, kind);
        let source = format_ident!("{}", kind);
        let mut inits = Vec::new();
        for (i, f) in fields.iter().enumerate() {
            let field = field_ident(&f.name, i);
            let snake = snake_case(&f.name);
            let known: &[&str] = match kind {
                "person" => &["id", "name", "email_address", "credit_card", "city", "state", "date_time", "extra"],
                "auction" => &[
                    "id",
                    "item_name",
                    "description",
                    "initial_bid",
                    "reserve",
                    "date_time",
                    "expires",
                    "seller",
                    "category",
                    "extra",
                ],
                _ => &["auction", "bidder", "price", "channel", "url", "date_time", "extra"],
            };
            if !known.contains(&snake.as_str()) {
                self.error(span, format!("`{kind}.{}` is not a field of Nexmark {kind} events", f.name));
                return None;
            }
            let src = format_ident!("{}", snake);
            inits.push(quote!(#field: Some(e.#src)));
        }
        Some(quote!(row.#source.map(|e| #id { #(#inits),* })))
    }
}

/// The columns of source table `id` that none of its branches (nor the computed columns
/// they use) reads. A table also written by the pipeline keeps every column.
pub(super) fn unread_columns(t: &Table, pipeline: &Pipeline, id: TableId) -> Vec<bool> {
    if pipeline.sinks.contains(&id) {
        return Vec::new();
    }
    let mut used = vec![false; t.columns.len()];
    let mut cols = Vec::new();
    // The tasks reading the table, and where its rows start their branches there.
    let readers: Vec<(&crate::plan::Task, Origin)> = pipeline
        .tasks
        .iter()
        .filter_map(|task| match task.input {
            Input::Table(a) | Input::Tables(a, _) if a == id => Some((task, Origin::Input)),
            Input::Tables(_, b) if b == id => Some((task, Origin::Second)),
            _ => None,
        })
        .collect();
    // A table only looked up (a lookup join's) is read whole.
    if readers.is_empty() {
        return Vec::new();
    }
    for (task, origin) in readers {
        for branch in task.branches.iter().filter(|b| b.from == origin) {
            // Steps up to and including the first projection read the source row.
            if !branch
                .steps
                .iter()
                .any(|s| matches!(s, Step::Project(_) | Step::WindowAggregate(_) | Step::Aggregate(_)))
            {
                return Vec::new();
            }
            for step in &branch.steps {
                match step {
                    Step::Filter(e) => e.columns(&mut cols),
                    Step::Project(es) => {
                        es.iter().for_each(|e| e.columns(&mut cols));
                        break;
                    }
                    Step::WindowAggregate(w) => {
                        cols.push(w.time_column);
                        w.group.iter().flatten().for_each(|e| e.columns(&mut cols));
                        for a in &w.aggregates {
                            a.args.iter().chain(&a.filter).for_each(|e| e.columns(&mut cols));
                        }
                        break;
                    }
                    Step::Aggregate(g) => {
                        g.group.iter().for_each(|e| e.columns(&mut cols));
                        for a in &g.aggregates {
                            a.args.iter().chain(&a.filter).for_each(|e| e.columns(&mut cols));
                        }
                        break;
                    }
                    // The whole row is kept (a lookup join's output keeps it too).
                    Step::TopN(_) | Step::Lookup(_) | Step::Over(_) => return Vec::new(),
                }
            }
        }
    }
    for c in cols {
        if let Some(u) = used.get_mut(c) {
            *u = true;
        }
    }
    // Computed columns read other columns, and watermark columns stay.
    for (i, c) in t.columns.iter().enumerate().rev() {
        if let ColumnKind::Computed(e) = &c.kind
            && used[i]
        {
            let mut deps = Vec::new();
            e.columns(&mut deps);
            deps.into_iter().for_each(|d| used[d] = true);
        }
    }
    if let Some(w) = &t.watermark {
        used[w.column] = true;
    }
    used.into_iter().zip(&t.columns).map(|(u, c)| !u && matches!(c.kind, ColumnKind::Physical)).collect()
}

/// `emailAddress` → `email_address`.
fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}
