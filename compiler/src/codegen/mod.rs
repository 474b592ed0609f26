//! `codegen`: the dataflow plan → the Rust source of a pipeline binary.
//!
//! The generated code is thin glue: one struct per table row and ROW type, the table
//! options as static data, and per source task one closure in which every branch's
//! filters and projections are fused into straight-line code over `Option` values. The
//! operators and connectors it calls are precompiled in the runtime crate `dfl`, reached
//! as `::dfl::__private` (aliased `rt`).

mod expr;
mod functions;
mod rows;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::hir::{ColumnKind, Program, Table, TableId};
use crate::plan::{Branch, Input, Pipeline, Step};
use crate::span::Span;
use expr::ExprGen;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use rows::{RowTypes, field_ident, is_writable, struct_ident};

/// The generated program.
#[derive(Debug, Clone)]
pub struct Generated {
    /// `src/main.rs`, formatted.
    pub main_rs: String,
}

/// Connectors code generation can read from / write to today.
const SOURCES: &[&str] = &["filesystem", "datagen", "nexmark"];
const SINKS: &[&str] = &["filesystem", "print", "blackhole"];

/// How to shape the generated code.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// A module (no crate attributes; `pub fn main(args)`) to embed with others in one
    /// crate, instead of a binary's `main.rs`.
    pub module: bool,
}

impl Options {
    pub fn with_module(mut self, module: bool) -> Self {
        self.module = module;
        self
    }
}

/// Generates the pipeline binary's `main.rs`.
pub fn generate(program: &Program, pipeline: &Pipeline, name: &str) -> Result<Generated, Diagnostics> {
    generate_with(program, pipeline, name, Options::default())
}

/// [`generate`] with options.
pub fn generate_with(
    program: &Program,
    pipeline: &Pipeline,
    name: &str,
    options: Options,
) -> Result<Generated, Diagnostics> {
    let mut g = Gen { program, rows: RowTypes::default(), diagnostics: Diagnostics::default() };
    let tokens = g.file(pipeline, name, options);
    if g.diagnostics.has_errors() {
        return Err(g.diagnostics);
    }
    let file: syn::File = syn::parse2(tokens).map_err(|e| {
        let mut d = Diagnostics::default();
        d.push(Diagnostic::internal(format!("generated code does not parse: {e}")));
        d
    })?;
    Ok(Generated { main_rs: prettyplease::unparse(&file) })
}

struct Gen<'a> {
    program: &'a Program,
    rows: RowTypes,
    diagnostics: Diagnostics,
}

/// The identifiers of a table's generated row types: the full row (read) and the
/// written row (sinks: without computed and virtual columns).
fn table_struct(t: &Table) -> proc_macro2::Ident {
    struct_ident("T", &t.name)
}

fn sink_struct(t: &Table) -> proc_macro2::Ident {
    struct_ident("W", &t.name)
}

impl Gen<'_> {
    fn error(&mut self, span: Span, message: String) {
        self.diagnostics.push(
            Diagnostic::error(Code::NotYetCompiled, message)
                .at(span, "cannot be compiled yet")
                .with_help("`dflc check` accepts this; code generation for it arrives in a later release"),
        );
    }

    fn file(&mut self, pipeline: &Pipeline, name: &str, options: Options) -> TokenStream {
        let program = self.program;
        // Row structs of every table used.
        let mut used: Vec<TableId> = pipeline.sinks.clone();
        for t in &pipeline.tasks {
            if let Input::Table(id) = t.input {
                if !used.contains(&id) {
                    used.push(id);
                }
            }
        }
        let mut structs = Vec::new();
        for &id in &used {
            let t = &program.tables[id.0];
            let members: Vec<(String, crate::types::Type)> =
                t.columns.iter().map(|c| (c.name.clone(), c.ty.clone())).collect();
            let ts = table_struct(t);
            // Projection pushdown: a JSON file source skips the fields no branch reads.
            let mut unread = match t.options.get("format").map(String::as_str) {
                Some("json") if t.connector == "filesystem" => unread_columns(t, pipeline, id),
                _ => Vec::new(),
            };
            // Computed and metadata columns are never in the record itself.
            unread.resize(t.columns.len(), false);
            for (u, c) in unread.iter_mut().zip(&t.columns) {
                *u |= !matches!(c.kind, ColumnKind::Physical);
            }
            structs.push(self.rows.struct_def_reading(&ts, &members, &t.name, &unread));
            let writable: Vec<(String, crate::types::Type)> =
                t.columns.iter().filter(|c| is_writable(&c.kind)).map(|c| (c.name.clone(), c.ty.clone())).collect();
            let ws = sink_struct(t);
            if writable.len() == members.len() {
                structs.push(quote!(pub type #ws = #ts;));
            } else {
                structs.push(self.rows.struct_def(&ws, &writable, &t.name));
            }
        }
        let columns: Vec<TokenStream> = used
            .iter()
            .map(|&id| {
                let t = &program.tables[id.0];
                let c = format_ident!("{}", struct_ident("COLUMNS", &t.name).to_string().to_uppercase());
                let n = t.columns.len();
                let d = rows::column_descriptors(t);
                quote!(static #c: [rt::connectors::format::Column; #n] = #d;)
            })
            .collect();
        let tables: Vec<TokenStream> = program
            .tables
            .iter()
            .map(|t| {
                let name = &t.name;
                let opts: Vec<TokenStream> = t.options.iter().map(|(k, v)| quote!((#k, #v))).collect();
                quote!((#name, &[#(#opts),*]))
            })
            .collect();
        let settings: Vec<TokenStream> = program.settings.iter().map(|(k, v)| quote!((#k, #v))).collect();

        let mut sink_setup = Vec::new();
        for &id in &pipeline.sinks {
            sink_setup.push(self.sink_setup(id));
        }
        let mut tasks = Vec::new();
        for (i, task) in pipeline.tasks.iter().enumerate() {
            tasks.push(self.task(i, task));
        }
        let sink_flushes: Vec<TokenStream> = pipeline
            .sinks
            .iter()
            .map(|&id| {
                let s = format_ident!("sink_{}", id.0);
                quote!(#s.flush()?;)
            })
            .collect();
        let row_defs = std::mem::take(&mut self.rows.defs);
        let source = format!("Generated by dflc from `{name}`; regenerate instead of editing.");
        let spec = quote!(rt::PipelineSpec { name: #name, tables: TABLES, settings: SETTINGS });
        let (header, main) = if options.module {
            (
                quote!(),
                quote! {
                    pub fn main(args: Vec<String>) -> std::process::ExitCode {
                        rt::pipeline::main_with_args(#spec, run, args)
                    }
                },
            )
        } else {
            (
                quote! {
                    #![doc = #source]
                    #![allow(non_snake_case, non_camel_case_types, unused_variables, unused_mut, unused_imports, unused_labels, unused_braces, unused_parens, dead_code, clippy::all)]
                },
                quote! {
                    fn main() -> std::process::ExitCode {
                        rt::pipeline::main(#spec, run)
                    }
                },
            )
        };
        quote! {
            #header

            use ::dfl::__private as rt;
            use rt::Source as _;

            #(#structs)*
            #(#row_defs)*
            #(#columns)*

            static TABLES: &[(&str, &[(&str, &str)])] = &[#(#tables),*];
            static SETTINGS: &[(&str, &str)] = &[#(#settings),*];

            fn run(cx: &rt::Context) -> rt::Result<()> {
                #(#sink_setup)*
                let mut tasks: Vec<rt::Task<'_>> = Vec::new();
                #(tasks.push(#tasks);)*
                rt::pipeline::run_tasks(cx, tasks)?;
                #(#sink_flushes)*
                Ok(())
            }

            #main
        }
    }

    fn sink_setup(&mut self, id: TableId) -> TokenStream {
        let t = &self.program.tables[id.0];
        let s = format_ident!("sink_{}", id.0);
        let ws = sink_struct(t);
        let name = &t.name;
        let cols = format_ident!("{}", struct_ident("COLUMNS", &t.name).to_string().to_uppercase());
        let make = match t.connector.as_str() {
            "filesystem" => quote!(rt::connectors::filesystem::sink::<#ws>(cx.table(#name)?, &#cols)?),
            "print" => quote!(rt::connectors::print::sink::<#ws>(cx.table(#name)?, &#cols)?),
            "blackhole" => quote!(rt::connectors::blackhole::sink::<#ws>()),
            other => {
                self.error(
                    t.span,
                    format!(
                        "writing to '{other}' tables is not supported by code generation yet (it can write to {})",
                        SINKS.join(", ")
                    ),
                );
                quote!(rt::connectors::blackhole::sink::<#ws>())
            }
        };
        quote!(let #s = rt::SharedSink::new(#make);)
    }

    /// One source task: the source, and every branch fused into its per-row closure.
    fn task(&mut self, index: usize, task: &crate::plan::Task) -> TokenStream {
        let program = self.program;
        let writers: Vec<TokenStream> = task
            .branches
            .iter()
            .enumerate()
            .map(|(b, br)| {
                let w = format_ident!("out_{}", b);
                let s = format_ident!("sink_{}", br.sink.0);
                quote!(let mut #w = #s.writer(cx);)
            })
            .collect();
        let sink_clones: Vec<TokenStream> = {
            let mut seen = Vec::new();
            task.branches
                .iter()
                .filter(|b| {
                    let new = !seen.contains(&b.sink.0);
                    seen.push(b.sink.0);
                    new
                })
                .map(|b| {
                    let s = format_ident!("sink_{}", b.sink.0);
                    quote!(let #s = #s.clone();)
                })
                .collect()
        };
        let flushes: Vec<TokenStream> = (0..task.branches.len())
            .map(|b| {
                let w = format_ident!("out_{}", b);
                quote!(#w.flush()?;)
            })
            .collect();
        let body = match &task.input {
            Input::Table(id) => {
                let t = &program.tables[id.0];
                let frame: Vec<TokenStream> = t
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let f = field_ident(&c.name, i);
                        quote!(row.#f)
                    })
                    .collect();
                let computed = self.computed_columns(t, &frame);
                let branches: Vec<TokenStream> =
                    task.branches.iter().enumerate().map(|(b, br)| self.branch(b, br, &frame)).collect();
                let (source, convert) = self.source(*id);
                quote! {
                    let source = #source;
                    source.run(cx, |row| {
                        let mut row = #convert;
                        #(#computed)*
                        #(#branches)*
                        Ok(())
                    })?;
                }
            }
            Input::Values(rows) => {
                let mut per_row = Vec::new();
                for r in rows {
                    let mut frame = Vec::new();
                    let mut failures = Vec::new();
                    {
                        let mut g = ExprGen { rows: &mut self.rows, frame: &[] };
                        for (i, e) in r.iter().enumerate() {
                            match g.expr(e) {
                                Ok(code) => {
                                    let v = format_ident!("v{}", i);
                                    let t = g.rows.rust(&e.ty, "value");
                                    per_row.push(quote!(let #v: Option<#t> = #code;));
                                    frame.push(quote!(#v));
                                }
                                Err(what) => failures.push(what),
                            }
                        }
                    }
                    let span = task.branches.first().map(|b| b.span).unwrap_or_default();
                    for what in failures {
                        self.error(span, format!("cannot generate code for {what}"));
                    }
                    let branches: Vec<TokenStream> =
                        task.branches.iter().enumerate().map(|(b, br)| self.branch(b, br, &frame)).collect();
                    per_row.push(quote!({ #(#branches)* }));
                }
                quote!(#(#per_row)*)
            }
        };
        let _ = index;
        quote! {
            {
                #(#sink_clones)*
                Box::new(move |cx: &rt::Context| -> rt::Result<()> {
                    #(#writers)*
                    #body
                    #(#flushes)*
                    Ok(())
                })
            }
        }
    }

    /// The source of a table and the code turning what it emits into the table's row.
    fn source(&mut self, id: TableId) -> (TokenStream, TokenStream) {
        let t = &self.program.tables[id.0];
        let name = &t.name;
        let ts = table_struct(t);
        let cols = format_ident!("{}", struct_ident("COLUMNS", &t.name).to_string().to_uppercase());
        for c in &t.columns {
            if let ColumnKind::Metadata { .. } = c.kind {
                self.error(c.span, format!("metadata column `{}` is not supported by code generation yet", c.name));
            }
        }
        match t.connector.as_str() {
            "filesystem" => (quote!(rt::connectors::filesystem::source::<#ts>(cx.table(#name)?)?), quote!(row)),
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

    /// `row.col = expr;` for each computed column, in order.
    fn computed_columns(&mut self, t: &Table, frame: &[TokenStream]) -> Vec<TokenStream> {
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

    /// The standard Nexmark schema: each declared column taken from the generator's event.
    fn nexmark_conversion(&mut self, t: &Table) -> TokenStream {
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

    fn nexmark_row(&mut self, kind: &str, fields: &[crate::types::Field], span: Span) -> Option<TokenStream> {
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

    /// A branch: its steps fused, ending in a write to its sink.
    fn branch(&mut self, index: usize, branch: &Branch, frame: &[TokenStream]) -> TokenStream {
        let label = syn::Lifetime::new(&format!("'b{index}"), proc_macro2::Span::call_site());
        let mut code = Vec::new();
        let mut frame: Vec<TokenStream> = frame.to_vec();
        for (s, step) in branch.steps.iter().enumerate() {
            match step {
                Step::Filter(predicate) => {
                    let mut g = ExprGen { rows: &mut self.rows, frame: &frame };
                    match g.expr(predicate) {
                        Ok(c) => code.push(quote!(if !rt::ops::is_true(#c) { break #label; })),
                        Err(what) => self.error(branch.span, format!("cannot generate code for {what} yet")),
                    }
                }
                Step::Project(exprs) => {
                    let mut next = Vec::new();
                    for (i, e) in exprs.iter().enumerate() {
                        let mut g = ExprGen { rows: &mut self.rows, frame: &frame };
                        match g.expr(e) {
                            Ok(c) => {
                                let v = format_ident!("p{}_{}_{}", index, s, i);
                                let t = self.rows.rust(&e.ty, "value");
                                code.push(quote!(let #v: Option<#t> = #c;));
                                next.push(quote!(#v));
                            }
                            Err(what) => self.error(branch.span, format!("cannot generate code for {what} yet")),
                        }
                    }
                    frame = next;
                }
            }
        }
        let t = &self.program.tables[branch.sink.0];
        let ws = sink_struct(t);
        let out = format_ident!("out_{}", index);
        let mut inits = Vec::new();
        let mut writable = 0usize;
        for (ci, c) in t.columns.iter().enumerate() {
            if !is_writable(&c.kind) {
                continue;
            }
            let f = field_ident(&c.name, writable);
            let value = match branch.columns.iter().position(|&k| k == ci) {
                // A column whose expression failed (and was reported) has no code.
                Some(k) if k >= frame.len() => quote!(None),
                Some(k) => {
                    let mut g = ExprGen { rows: &mut self.rows, frame: &frame };
                    let place = &frame[k];
                    match g.cast(quote!(#place.clone()), &branch.output[k], &c.ty, false) {
                        Ok(v) => {
                            if !c.ty.nullable && branch.output[k].nullable {
                                let table = &t.name;
                                let column = &c.name;
                                // 'table.exec.sink.not-null-enforcer': ERROR (default) or DROP.
                                let drop = self
                                    .program
                                    .settings
                                    .get("table.exec.sink.not-null-enforcer")
                                    .is_some_and(|v| v.eq_ignore_ascii_case("drop"));
                                if drop {
                                    quote!(match #v {
                                        Some(v) => Some(v),
                                        None => {
                                            cx.counters.skipped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                            break #label;
                                        }
                                    })
                                } else {
                                    quote!(match #v {
                                        Some(v) => Some(v),
                                        None => return Err(rt::Error::NullInNotNull { table: #table.into(), column: #column.into() }),
                                    })
                                }
                            } else {
                                v
                            }
                        }
                        Err(what) => {
                            self.error(branch.span, format!("cannot generate code for {what} yet"));
                            quote!(None)
                        }
                    }
                }
                None => quote!(None),
            };
            inits.push(quote!(#f: #value));
            writable += 1;
        }
        let _ = writable;
        quote! {
            #label: {
                #(#code)*
                #out.write(#ws { #(#inits),* })?;
            }
        }
    }
}

/// The columns of source table `id` that none of its branches (nor the computed columns
/// they use) reads. A table also written by the pipeline keeps every column.
fn unread_columns(t: &Table, pipeline: &Pipeline, id: TableId) -> Vec<bool> {
    if pipeline.sinks.contains(&id) {
        return Vec::new();
    }
    let mut used = vec![false; t.columns.len()];
    let mut cols = Vec::new();
    for task in pipeline.tasks.iter().filter(|task| task.input == Input::Table(id)) {
        for branch in &task.branches {
            // Steps up to and including the first projection read the source row.
            for step in &branch.steps {
                match step {
                    Step::Filter(e) => e.columns(&mut cols),
                    Step::Project(es) => {
                        es.iter().for_each(|e| e.columns(&mut cols));
                        break;
                    }
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
        if let ColumnKind::Computed(e) = &c.kind {
            if used[i] {
                let mut deps = Vec::new();
                e.columns(&mut deps);
                deps.into_iter().for_each(|d| used[d] = true);
            }
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
