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
mod sources;
mod stateful;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::hir::{ColumnKind, Program, Table, TableId};
use crate::plan::{Branch, Input, Origin, Pipeline, Side, Step, Target};
use crate::span::Span;
use crate::types::TypeKind;
use expr::ExprGen;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use rows::{RowTypes, field_ident, is_writable, struct_ident};
use sources::unread_columns;

/// The generated program.
#[derive(Debug, Clone)]
pub struct Generated {
    /// `src/main.rs`, formatted.
    pub main_rs: String,
    /// Cargo features of the runtime the code needs (`rocksdb` for that state backend).
    pub features: Vec<&'static str>,
}

/// Connectors code generation can read from / write to today.
const SOURCES: &[&str] = &["filesystem", "datagen", "nexmark", "kafka", "upsert-kafka"];
const SINKS: &[&str] = &["filesystem", "print", "blackhole", "kafka", "upsert-kafka"];

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
    let mut g = Gen {
        program,
        rows: RowTypes::default(),
        diagnostics: Diagnostics::default(),
        stateful: Stateful::default(),
        late_sinks: pipeline.late_sinks.clone(),
        late_sink: None,
        source: None,
        joins: pipeline.joins.clone(),
        live: Vec::new(),
        branches: Vec::new(),
        current: 0,
        updating: false,
        backend: Backend::Memory,
    };
    g.backend = g.state_backend();
    let tokens = g.file(pipeline, name, options);
    if g.diagnostics.has_errors() {
        return Err(g.diagnostics);
    }
    let file: syn::File = syn::parse2(tokens).map_err(|e| {
        let mut d = Diagnostics::default();
        d.push(Diagnostic::internal(format!("generated code does not parse: {e}")));
        d
    })?;
    let features = match g.backend {
        Backend::Memory => Vec::new(),
        Backend::RocksDb => vec!["rocksdb"],
    };
    Ok(Generated { main_rs: prettyplease::unparse(&file), features })
}

struct Gen<'a> {
    program: &'a Program,
    rows: RowTypes,
    diagnostics: Diagnostics,
    /// Code the current task's stateful branches need around its source loop.
    stateful: Stateful,
    /// The late-data table, if rows too late for their windows are written somewhere.
    late_sink: Option<TableId>,
    /// Per source table, its late-data table.
    late_sinks: Vec<(TableId, TableId)>,
    /// The table the current task reads.
    source: Option<TableId>,
    /// The pipeline's window joins.
    joins: Vec<crate::plan::WindowJoin>,
    /// Per step of the current branch, which of its output columns later steps read.
    live: Vec<Vec<bool>>,
    /// The current task's branches, and the index of the one being generated.
    branches: Vec<Branch>,
    current: usize,
    /// Whether the current task's rows are changes (its source is a changelog).
    updating: bool,
    /// Where operators keep their state (`SET 'state.backend'`).
    backend: Backend,
}

/// The state backend the pipeline is compiled with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Memory,
    RocksDb,
}

/// Per task: window operators and their emit closures (before the loop), the watermark
/// advance after each row, the final firing at the end of input, and the operators a
/// checkpoint saves (their variable, and a fingerprint of their state's types).
#[derive(Default)]
struct Stateful {
    setup: Vec<TokenStream>,
    after_row: Vec<TokenStream>,
    end: Vec<TokenStream>,
    operators: Vec<(proc_macro2::Ident, String)>,
}

impl Stateful {
    /// Records operator `op`, whose state's types `declaration` declares, for checkpoints.
    fn operator(&mut self, op: &proc_macro2::Ident, declaration: &TokenStream) {
        self.operators.push((op.clone(), fingerprint(&declaration.to_string())));
    }
}

/// A stable fingerprint (FNV-1a, hex) of a state declaration: a checkpoint is restored only
/// into operators declared the same way.
fn fingerprint(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes().filter(|b| !b.is_ascii_whitespace()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The identifiers of a table's generated row types: the full row (read) and the
/// written row (sinks: without computed and virtual columns).
fn table_struct(t: &Table) -> proc_macro2::Ident {
    struct_ident("T", &t.name)
}

fn sink_struct(t: &Table) -> proc_macro2::Ident {
    struct_ident("W", &t.name)
}

/// The static column descriptors of a table's rows, and of the rows its sink writes (the
/// same unless it has computed or virtual columns).
fn columns_ident(t: &Table) -> proc_macro2::Ident {
    format_ident!("{}", struct_ident("COLUMNS", &t.name).to_string().to_uppercase())
}

fn sink_columns_ident(t: &Table) -> proc_macro2::Ident {
    if t.columns.iter().all(|c| rows::is_writable(&c.kind)) {
        columns_ident(t)
    } else {
        format_ident!("{}", struct_ident("WCOLUMNS", &t.name).to_string().to_uppercase())
    }
}

impl Gen<'_> {
    fn error(&mut self, span: Span, message: String) {
        self.diagnostics.push(
            Diagnostic::error(Code::NotYetCompiled, message)
                .at(span, "cannot be compiled yet")
                .with_help("`dflc check` accepts this; code generation for it arrives in a later release"),
        );
    }

    /// `SET 'state.backend' = 'memory' | 'hashmap' | 'rocksdb'` (memory by default).
    fn state_backend(&mut self) -> Backend {
        match self.program.settings.get("state.backend").map(|v| v.trim().to_ascii_lowercase()) {
            None => Backend::Memory,
            Some(v) if v == "memory" || v == "hashmap" => Backend::Memory,
            Some(v) if v == "rocksdb" => Backend::RocksDb,
            Some(v) => {
                self.diagnostics.push(
                    Diagnostic::error(Code::NotYetCompiled, format!("'state.backend' = '{v}' is not a state backend"))
                        .with_help("choose 'memory' (or Flink's name 'hashmap') or 'rocksdb'"),
                );
                Backend::Memory
            }
        }
    }

    /// The type of the state backend, as the operators' last type parameter.
    fn backend_type(&self) -> TokenStream {
        match self.backend {
            Backend::Memory => quote!(rt::state::MemoryBackend),
            Backend::RocksDb => quote!(rt::state::RocksBackend),
        }
    }

    /// The name `Context::check_state_backend` knows the backend by.
    fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Memory => "memory",
            Backend::RocksDb => "rocksdb",
        }
    }

    /// Opens the state backend of the current task.
    fn backend_open(&self) -> TokenStream {
        match self.backend {
            Backend::Memory => quote!(let mut state = rt::state::MemoryBackend::new();),
            Backend::RocksDb => quote!(let mut state = rt::state::RocksBackend::for_task(cx, &task)?;),
        }
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
        let mut columns: Vec<TokenStream> = used
            .iter()
            .map(|&id| {
                let t = &program.tables[id.0];
                let c = columns_ident(t);
                let n = t.columns.len();
                let d = rows::column_descriptors(t.columns.iter());
                quote!(static #c: [rt::connectors::format::Column; #n] = #d;)
            })
            .collect();
        // Sinks write the writable columns only (the `W_` struct).
        for &id in &pipeline.sinks {
            let t = &program.tables[id.0];
            if t.columns.iter().all(|c| is_writable(&c.kind)) {
                continue;
            }
            let c = sink_columns_ident(t);
            let writable: Vec<&crate::hir::Column> = t.columns.iter().filter(|c| is_writable(&c.kind)).collect();
            let n = writable.len();
            let d = rows::column_descriptors(writable.into_iter());
            columns.push(quote!(static #c: [rt::connectors::format::Column; #n] = #d;));
        }
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
        let task_names: Vec<String> = (0..pipeline.tasks.len()).map(|i| task_name(program, pipeline, i)).collect();
        for (i, task) in pipeline.tasks.iter().enumerate() {
            tasks.push(self.task(i, task, &task_names[i]));
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
        let backend_name = self.backend_name();
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
            use rt::agg::Accumulator as _;

            #(#structs)*
            #(#row_defs)*
            #(#columns)*

            static TABLES: &[(&str, &[(&str, &str)])] = &[#(#tables),*];
            static SETTINGS: &[(&str, &str)] = &[#(#settings),*];

            fn run(cx: &rt::Context) -> rt::Result<()> {
                cx.check_state_backend(#backend_name)?;
                if let Some(c) = cx.checkpoints() {
                    c.expect_tasks(&[#(#task_names),*])?;
                }
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
        let cols = sink_columns_ident(t);
        if !t.partitioned_by.is_empty() {
            self.error(
                t.span,
                format!(
                    "writing the partitioned table `{}` (PARTITIONED BY) is not supported by code generation yet",
                    t.name
                ),
            );
        }
        let make = match t.connector.as_str() {
            "filesystem" => quote!(rt::connectors::filesystem::sink::<#ws>(cx.table(#name)?, &#cols)?),
            "print" => quote!(rt::connectors::print::sink::<#ws>(cx.table(#name)?, &#cols)?),
            "blackhole" => quote!(rt::connectors::blackhole::sink::<#ws>()),
            "kafka" => match self.kafka_write_metadata(t) {
                None => quote!(rt::connectors::kafka::sink::<#ws>(cx.table(#name)?, &#cols)?),
                Some(metadata) => {
                    quote!(rt::connectors::kafka::sink_with_metadata::<#ws>(cx.table(#name)?, &#cols, #metadata)?)
                }
            },
            "upsert-kafka" => {
                let pk: Vec<&str> = t.primary_key.iter().map(|&i| t.columns[i].name.as_str()).collect();
                match self.kafka_write_metadata(t) {
                    None => quote!(rt::connectors::kafka::upsert_sink::<#ws>(cx.table(#name)?, &#cols, &[#(#pk),*])?),
                    Some(metadata) => quote!(rt::connectors::kafka::upsert_sink_with_metadata::<#ws>(
                        cx.table(#name)?, &#cols, &[#(#pk),*], #metadata
                    )?),
                }
            }
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
        quote! {
            let #s = rt::SharedSink::new(#make);
            cx.register_sink(#name, &#s)?;
        }
    }

    /// One source task: the source, and every branch fused into its per-row closure.
    fn task(&mut self, index: usize, task: &crate::plan::Task, name: &str) -> TokenStream {
        let program = self.program;
        self.updating = matches!(task.input, Input::Table(id) if program.tables[id.0].is_changelog_source());
        let updating = self.updating;
        let writers: Vec<TokenStream> = task
            .branches
            .iter()
            .enumerate()
            .filter_map(|(b, br)| {
                let w = format_ident!("out_{}", b);
                let s = format_ident!("sink_{}", br.sink()?.0);
                let writer = if updating || updates(br, &self.joins) { quote!(change_writer) } else { quote!(writer) };
                Some(quote!(let mut #w = #s.#writer(cx);))
            })
            .collect();
        let sink_clones: Vec<TokenStream> = {
            let mut seen = Vec::new();
            task.branches
                .iter()
                .filter_map(Branch::sink)
                .filter(|t| {
                    let new = !seen.contains(&t.0);
                    seen.push(t.0);
                    new
                })
                .map(|t| {
                    let s = format_ident!("sink_{}", t.0);
                    quote!(let #s = #s.clone();)
                })
                .collect()
        };
        // At a source's barrier: every row before it written out and made durable (by the
        // checkpoint, or by syncing the sinks).
        let mut barrier: Vec<TokenStream> = (0..task.branches.len())
            .filter(|&b| task.branches[b].sink().is_some())
            .map(|b| {
                let w = format_ident!("out_{}", b);
                quote!(#w.flush()?;)
            })
            .collect();
        let mut syncs = Vec::new();
        {
            let mut seen = Vec::new();
            for t in task.branches.iter().filter_map(Branch::sink) {
                if !seen.contains(&t) {
                    seen.push(t);
                    let s = format_ident!("sink_{}", t.0);
                    syncs.push(quote!(#s.sync()?;));
                }
            }
        }
        let flushes: Vec<TokenStream> = (0..task.branches.len())
            .filter(|&b| task.branches[b].sink().is_some())
            .map(|b| {
                let w = format_ident!("out_{}", b);
                quote!(#w.flush()?;)
            })
            .collect();
        self.stateful = Stateful::default();
        self.branches = task.branches.clone();
        self.source = match task.input {
            Input::Table(id) => Some(id),
            Input::Values(_) => None,
        };
        let windowed = task.branches.iter().any(|b| b.steps.iter().any(|s| matches!(s, Step::WindowAggregate(_))));
        // The task's window joins: declared once, before its branches use them.
        let mut declared = Vec::new();
        for b in &task.branches {
            if let Target::Join { join, .. } = b.target {
                if !declared.contains(&join) {
                    declared.push(join);
                    self.join_setup(join, b);
                }
            }
        }
        self.late_sink =
            self.source.and_then(|s| self.late_sinks.iter().find(|(src, _)| *src == s)).map(|(_, late)| *late);
        let late = self.late_sink.filter(|_| windowed || !self.joins.is_empty()).map(|id| {
            let s = format_ident!("sink_{}", id.0);
            (quote!(let #s = #s.clone();), quote!(let mut out_late = #s.writer(cx);), quote!(out_late.flush()?;))
        });
        let (late_clone, late_writer, late_flush) = late.unwrap_or_default();
        // While the source waits: batched rows handed to their sinks.
        let idle: Vec<TokenStream> = flushes.iter().cloned().chain(std::iter::once(late_flush.clone())).collect();
        if let Some(id) = self.late_sink.filter(|_| !late_writer.is_empty()) {
            let s = format_ident!("sink_{}", id.0);
            barrier.push(quote!(out_late.flush()?;));
            syncs.push(quote!(#s.sync()?;));
        }
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
                let Stateful { mut setup, after_row, end, operators } = std::mem::take(&mut self.stateful);
                if !setup.is_empty() {
                    // Where the task's operators keep their state, each under its own id.
                    setup.insert(0, self.backend_open());
                }
                let proctime: Vec<bool> = task
                    .branches
                    .iter()
                    .flat_map(|b| &b.steps)
                    .filter_map(|s| match s {
                        Step::WindowAggregate(w) => Some(w.proctime),
                        _ => None,
                    })
                    .collect();
                let windows = !proctime.is_empty()
                    || task.branches.iter().any(
                        |b| matches!(b.target, Target::Join { join, .. } if self.joins[join].left_window.is_some()),
                    );
                let event_time = windows && !proctime.iter().any(|p| *p);
                let watermark = if !windows {
                    None
                } else if proctime.iter().all(|p| *p) {
                    // Processing time: the clock, read at every row and while the source
                    // waits, less a millisecond: a window fires only once the clock has
                    // left its last millisecond, so a row read in that millisecond (many at
                    // a million rows a second) still finds its window open.
                    let tick = quote!(if let Some(now) = rt::ops::now() {
                        wm.observe(now.millis());
                    });
                    Some((quote!(let mut wm = rt::time::BoundedOutOfOrderness::sql(1);), tick.clone(), tick))
                } else if proctime.iter().any(|p| *p) {
                    self.error(
                        t.span,
                        "windows of event time and of processing time over one table cannot be compiled together yet"
                            .into(),
                    );
                    None
                } else {
                    self.watermark(t, &frame)
                };
                // Checkpoints: the operators (and an event-time watermark) saved at each
                // barrier and restored at start, each under its id and fingerprint.
                let mut saved: Vec<(String, String, proc_macro2::Ident)> = Vec::new();
                if event_time && watermark.is_some() {
                    saved.push(("watermark".into(), fingerprint("source-watermark"), format_ident!("wm")));
                }
                if self.updating {
                    let columns: Vec<String> = t.columns.iter().map(|c| format!("{} {}", c.name, c.ty)).collect();
                    let pk: Vec<&str> = t.primary_key.iter().map(|&i| t.columns[i].name.as_str()).collect();
                    let declared =
                        format!("upsert ({}) key ({}) in {}", columns.join(", "), pk.join(", "), self.backend_name());
                    saved.push(("upsert".into(), fingerprint(&declared), format_ident!("normalize")));
                }
                for (op, fp) in operators {
                    saved.push((op.to_string(), fp, op));
                }
                let restores = saved.iter().map(|(id, fp, var)| quote!(restored.load(#id, #fp, &mut #var)?;));
                let saves: Vec<TokenStream> =
                    saved.iter().map(|(id, fp, var)| quote!(snapshot.save(#id, #fp, &mut #var)?;)).collect();
                let stateful = !saved.is_empty();
                let arrive = if stateful {
                    quote!(task.arrive_with(id, snapshot, &barrier.position, &mut state)?;)
                } else {
                    quote!(task.arrive(id, snapshot, &barrier.position)?;)
                };
                let open_source = quote! {
                    let mut source = #source;
                    if let Some(mut restored) = task.take_restored() {
                        rt::Source::restore(&mut source, restored.position())?;
                        #(#restores)*
                        restored.done()?;
                    }
                };
                // A task keeping state commits its source's position only with checkpoints
                // (without them a restart reads the input again).
                let commits = if stateful {
                    quote!(let source = if task.enabled() { source } else { rt::Source::without_commits(source) };)
                } else {
                    quote!()
                };
                let on_barrier = quote! {
                    rt::connectors::SourceEvent::Barrier(barrier) => {
                        #(#barrier)*
                        match barrier.checkpoint {
                            Some(id) => {
                                let mut snapshot = rt::SnapshotWriter::default();
                                #(#saves)*
                                #arrive
                            }
                            None => {
                                #(#syncs)*
                            }
                        }
                    }
                };
                match watermark {
                    // Operators that keep state until the watermark passes: the source's
                    // events, not only its rows, move the watermark (splits starting,
                    // ending and going idle), and the operators advance after each. At the
                    // end of the input every window fires (not when stopped with a
                    // checkpoint: the state is in it).
                    Some((wm_setup, wm_row, wm_event)) => quote! {
                        #wm_setup
                        #(#setup)*
                        #open_source
                        #commits
                        source.run_events(cx, |event| {
                            match event {
                                rt::connectors::SourceEvent::Row(split, row) => {
                                    let mut row = #convert;
                                    #(#computed)*
                                    #wm_row
                                    #(#branches)*
                                }
                                #on_barrier
                                event => {
                                    if let rt::connectors::SourceEvent::Idle = event {
                                        #(#idle)*
                                    }
                                    #wm_event
                                }
                            }
                            #(#after_row)*
                            Ok(())
                        })?;
                        if task.input_ended() {
                            #(#end)*
                        }
                    },
                    None => {
                        // Without a watermark: each row runs the branches (for an upsert
                        // table: once per change it makes to the latest row of its key).
                        let (open_state, on_row) = if self.updating {
                            let (key_setup, key) = self.upsert_key(t);
                            let (open_state, backend_ty) = (self.backend_open(), self.backend_type());
                            (
                                quote! {
                                    #open_state
                                    let mut normalize: rt::UpsertNormalize<_, _, #backend_ty> =
                                        rt::UpsertNormalize::in_backend(&mut state, "upsert")
                                            .with_ttl(cx.state_ttl_ms()?, rt::time::epoch_ms);
                                },
                                quote! {
                                    let tombstone = row.tombstone;
                                    let mut row = #convert;
                                    #(#computed)*
                                    #key_setup
                                    normalize.apply(#key, (!tombstone).then_some(row), |kind, row| -> rt::Result<()> {
                                        #(#branches)*
                                        Ok(())
                                    })?;
                                },
                            )
                        } else {
                            (
                                quote!(#(#setup)*),
                                quote! {
                                    let mut row = #convert;
                                    #(#computed)*
                                    #(#branches)*
                                    #(#after_row)*
                                },
                            )
                        };
                        quote! {
                            #open_state
                            #open_source
                            #commits
                            source.run_events(cx, |event| {
                                match event {
                                    rt::connectors::SourceEvent::Row(_, row) => {
                                        #on_row
                                    }
                                    #on_barrier
                                    rt::connectors::SourceEvent::Idle => {
                                        #(#idle)*
                                    }
                                    _ => {}
                                }
                                Ok(())
                            })?;
                            if task.input_ended() {
                                #(#end)*
                            }
                        }
                    }
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
                #late_clone
                Box::new(move |cx: &rt::Context| -> rt::Result<()> {
                    let mut task = rt::TaskCheckpoint::new(cx, #name)?;
                    if task.already_done() {
                        // Its input had ended before the checkpoint restored.
                        return Ok(());
                    }
                    #(#writers)*
                    #late_writer
                    #body
                    #(#flushes)*
                    #late_flush
                    task.finish();
                    Ok(())
                })
            }
        }
    }

    /// A branch: its steps fused, ending in a write to its target. A window aggregation in
    /// it splits it: the steps before run per row and feed the operator; the steps after
    /// run in the operator's emit function (declared before the source loop). A branch
    /// continuing a window join runs, up to its first window, in the join's emit function.
    fn branch(&mut self, index: usize, branch: &Branch, frame: &[TokenStream]) -> TokenStream {
        self.current = index;
        let label = syn::Lifetime::new(&format!("'b{index}"), proc_macro2::Span::call_site());
        let mut code = Vec::new();
        let mut frame: Vec<TokenStream> = frame.to_vec();
        let width = match branch.from {
            Origin::Join(j) => self.joins[j].left.len() + self.joins[j].right.len(),
            Origin::Window { branch: b, step } => output_width(&self.branches[b].steps[step]),
            Origin::Input => frame.len(),
        };
        self.live = live_outputs(branch, width);
        if let Origin::Join(j) = branch.from {
            // The joined row's columns: the left side's, then the right side's (NULL for
            // the missing side of an outer join's unmatched row).
            let join = &self.joins[j];
            frame.clear();
            for (side, n) in [("l", join.left.len()), ("r", join.right.len())] {
                let s = format_ident!("{}", side);
                for i in 0..n {
                    let v = format_ident!("j{}_{}{}", j, side, i);
                    let slot = syn::Index::from(i);
                    code.push(quote!(let #v = #s.and_then(|row| row.#slot.clone());));
                    frame.push(quote!(#v));
                }
            }
        }
        let split = branch.steps.iter().position(|s| matches!(s, Step::WindowAggregate(_)));
        let (before, _) = branch.steps.split_at(split.unwrap_or(branch.steps.len()));
        match branch.from {
            // Its head runs in the emit function of the window it shares.
            Origin::Window { .. } => {}
            Origin::Input => {
                let (head, _) = self.head(index, branch, &mut frame, &label);
                code.extend(head);
            }
            Origin::Join(j) => {
                // Runs for each joined row when the join fires, before the windows after it.
                let (head, (param, arg)) = self.head(index, branch, &mut frame, &label);
                code.extend(head);
                let (emit, op, cond, l, r) = (
                    format_ident!("join_emit_{}", j),
                    format_ident!("join_{}", j),
                    format_ident!("join_cond_{}", j),
                    format_ident!("JL{}", j),
                    format_ident!("JR{}", j),
                );
                self.stateful.setup.push(quote! {
                    fn #emit(kind: rt::RowKind, l: Option<&#l>, r: Option<&#r>, cx: &rt::Context, #param) -> rt::Result<()> {
                        #label: {
                            #(#code)*
                        }
                        Ok(())
                    }
                });
                if self.joins[j].left_window.is_some() {
                    self.stateful
                        .after_row
                        .push(quote!(#op.advance(wm.current(), #cond, |_, l, r| #emit(rt::RowKind::Insert, l, r, cx, #arg))?;));
                    self.stateful.end.push(
                        quote!(#op.advance(i64::MAX, #cond, |_, l, r| #emit(rt::RowKind::Insert, l, r, cx, #arg))?;),
                    );
                }
                code = Vec::new();
            }
        }
        // Window j's emit side: its output, the steps up to the next window (whose add
        // it calls) or to the target, then the heads of the branches sharing the window.
        // A nested fn taking what it writes to, so that windows can be chained and called
        // from the row path and at the end of input alike.
        let positions: Vec<usize> = (before.len()..branch.steps.len())
            .filter(|&i| matches!(branch.steps[i], Step::WindowAggregate(_)))
            .collect();
        for (j, &pos) in positions.iter().enumerate() {
            let Step::WindowAggregate(w) = &branch.steps[pos] else { continue };
            let slot = format!("{index}_{j}");
            let next = positions.get(j + 1).copied();
            let post_label = syn::Lifetime::new(&format!("'p{index}_{j}"), proc_macro2::Span::call_site());
            let (bindings, base_frame) = self.window_output(&slot, w);
            let mut post = Vec::new();
            let mut post_frame = base_frame.clone();
            let end = next.unwrap_or(branch.steps.len());
            self.steps(index, pos + 1, &branch.steps[pos + 1..end], &mut post, &mut post_frame, &post_label, branch);
            let (param, arg) = match next.map(|n| &branch.steps[n]) {
                Some(Step::WindowAggregate(nw)) => {
                    let next_slot = format!("{index}_{}", j + 1);
                    post.push(self.window_add(&next_slot, nw, &post_frame, branch, false));
                    self.window_terminal(&next_slot, nw)
                }
                _ => {
                    post.push(self.target_write(index, branch, &post_frame, &post_label, false));
                    self.terminal(index, branch)
                }
            };
            let (mut params, mut args) = (vec![param.to_string()], vec![(param, arg)]);
            let mut shared = Vec::new();
            let sharers: Vec<(usize, Branch)> = (0..self.branches.len())
                .filter(|&b| self.branches[b].from == Origin::Window { branch: index, step: pos })
                .map(|b| (b, self.branches[b].clone()))
                .collect();
            for (b, sharer) in sharers {
                let saved = std::mem::replace(&mut self.live, live_outputs(&sharer, base_frame.len()));
                let sharer_label = syn::Lifetime::new(&format!("'b{b}"), proc_macro2::Span::call_site());
                let mut frame = base_frame.clone();
                let (head, (param, arg)) = self.head(b, &sharer, &mut frame, &sharer_label);
                self.live = saved;
                shared.push(quote!(#sharer_label: { #(#head)* }));
                if !params.contains(&param.to_string()) {
                    params.push(param.to_string());
                    args.push((param, arg));
                }
            }
            self.current = index;
            let (param, arg): (Vec<TokenStream>, Vec<TokenStream>) = args.into_iter().unzip();
            let (emit, op, key, acc) = (
                format_ident!("emit_{}", slot),
                format_ident!("window_{}", slot),
                format_ident!("Key{}", slot),
                format_ident!("Acc{}", slot),
            );
            self.stateful.setup.push(quote! {
                fn #emit(key: &#key, w: rt::time::Window, acc: &#acc, cx: &rt::Context, #(#param),*) -> rt::Result<()> {
                    #(#bindings)*
                    #post_label: {
                        #(#post)*
                    }
                    #(#shared)*
                    Ok(())
                }
            });
            self.stateful.after_row.push(quote!(#op.advance(wm.current(), |k, w, a| #emit(k, w, a, cx, #(#arg),*))?;));
            self.stateful.end.push(quote!(#op.advance(i64::MAX, |k, w, a| #emit(k, w, a, cx, #(#arg),*))?;));
        }
        if code.is_empty() {
            return quote!();
        }
        quote! {
            #label: {
                #(#code)*
            }
        }
    }

    /// The head of branch `index`: its steps up to its first window aggregation, then the
    /// window's add or the write to the branch's target; and the parameter and argument by
    /// which an emit function running it receives what it writes to.
    fn head(
        &mut self,
        index: usize,
        branch: &Branch,
        frame: &mut Vec<TokenStream>,
        label: &syn::Lifetime,
    ) -> (Vec<TokenStream>, (TokenStream, TokenStream)) {
        let mut code = Vec::new();
        let split = branch
            .steps
            .iter()
            .position(|s| matches!(s, Step::WindowAggregate(_) | Step::Aggregate(_) | Step::TopN(_)));
        let (before, after) = branch.steps.split_at(split.unwrap_or(branch.steps.len()));
        self.steps(index, 0, before, &mut code, frame, label, branch);
        let source_row = branch.from == Origin::Input;
        let current = std::mem::replace(&mut self.current, index);
        let terminal = match after.first() {
            Some(Step::WindowAggregate(w)) => {
                let slot = format!("{index}_0");
                code.push(self.window_add(&slot, w, frame, branch, source_row));
                self.window_terminal(&slot, w)
            }
            Some(Step::Aggregate(g)) => {
                if !source_row || after[1..].iter().any(|s| !matches!(s, Step::Filter(_) | Step::Project(_))) {
                    self.error(
                        branch.span,
                        "an aggregation without a window after a join or window, or followed by another stateful \
                         operator, cannot be compiled yet"
                            .into(),
                    );
                }
                code.push(self.group_add(index, g, frame, branch, &after[1..]));
                self.terminal(index, branch)
            }
            Some(Step::TopN(t)) => {
                if !source_row || after[1..].iter().any(|s| !matches!(s, Step::Filter(_) | Step::Project(_))) {
                    self.error(
                        branch.span,
                        "a Top-N after a join or window, or followed by another stateful operator, cannot be compiled yet"
                            .into(),
                    );
                }
                let at = branch.steps.len() - after.len();
                code.push(self.top_n_add(index, t, frame, branch, at));
                self.terminal(index, branch)
            }
            _ => {
                code.push(self.target_write(index, branch, frame, label, source_row));
                self.terminal(index, branch)
            }
        };
        self.current = current;
        (code, terminal)
    }

    /// The parameter and argument by which an emit function receives the branch's target:
    /// its sink writer or its window join.
    fn terminal(&self, index: usize, branch: &Branch) -> (TokenStream, TokenStream) {
        match &branch.target {
            Target::Sink { table, .. } => {
                let out = format_ident!("out_{}", index);
                let ws = sink_struct(&self.program.tables[table.0]);
                let writer = if self.updating || updates(branch, &self.joins) {
                    quote!(rt::pipeline::ChangeWriter<'_, #ws>)
                } else {
                    quote!(rt::pipeline::SinkWriter<'_, #ws>)
                };
                (quote!(#out: &mut #writer), quote!(&mut #out))
            }
            Target::Join { join, .. } => {
                let (op, k, l, r) = (
                    format_ident!("join_{}", join),
                    format_ident!("JK{}", join),
                    format_ident!("JL{}", join),
                    format_ident!("JR{}", join),
                );
                let b = self.backend_type();
                if self.joins[*join].left_window.is_some() {
                    (quote!(#op: &mut rt::WindowJoin<#k, #l, #r, #b>), quote!(&mut #op))
                } else {
                    (quote!(#op: &mut rt::RegularJoin<#k, #l, #r, #b>), quote!(&mut #op))
                }
            }
        }
    }

    /// Writes the chain's output row to the branch's target: its sink table, or one side of
    /// its window join (with the row's window and key). A row from the source that comes
    /// too late for the join's window is counted late (and written to the late-data table).
    fn target_write(
        &mut self,
        index: usize,
        branch: &Branch,
        frame: &[TokenStream],
        label: &syn::Lifetime,
        source_row: bool,
    ) -> TokenStream {
        let Target::Join { join: j, side } = branch.target else {
            return self.sink_write(index, branch, frame, label);
        };
        let join = self.joins[j].clone();
        let (window, keys) = match side {
            Side::Left => (join.left_window, join.keys.iter().map(|(l, _)| l).collect::<Vec<_>>()),
            Side::Right => (join.right_window, join.keys.iter().map(|(_, r)| r).collect()),
        };
        let mut code = Vec::new();
        let mut key_values = Vec::new();
        let mut key_patterns = Vec::new();
        for (i, e) in keys.iter().enumerate() {
            let mut g = ExprGen { rows: &mut self.rows, frame };
            match g.expr(e) {
                Ok(c) => {
                    let v = format_ident!("jk{}_{}", index, i);
                    let float = matches!(e.ty.kind, TypeKind::Float | TypeKind::Double);
                    let value = if float { quote!((#c).map(rt::agg::Ordered)) } else { c };
                    code.push(quote!(let #v = #value;));
                    key_patterns.push(quote!(Some(#v)));
                    key_values.push(quote!(#v));
                }
                Err(what) => self.error(branch.span, format!("cannot generate code for {what} yet")),
            }
        }
        let matched: Vec<TokenStream> = key_values.clone();
        let row: Vec<TokenStream> = frame.iter().map(|v| quote!(#v.clone())).collect();
        let Some(window) = window else {
            // A regular inner join: the row joins the other side's rows at once, and the
            // joined rows go on in the branch that continues from the join.
            return self.regular_join_write(j, side, index, branch, code, matched, key_patterns, key_values, row);
        };
        let (start, end) = (&frame[window.0], &frame[window.1]);
        let (op, add) = (
            format_ident!("join_{}", j),
            match side {
                Side::Left => quote!(add_left),
                Side::Right => quote!(add_right),
            },
        );
        let late = if source_row { self.late_write(branch) } else { quote!() };
        quote! {
            #(#code)*
            // A NULL key equals nothing (outer joins still emit the row).
            let key = match (#(#matched,)*) {
                (#(#key_patterns,)*) => Some((#(#key_values,)*)),
                #[allow(unreachable_patterns)]
                _ => None,
            };
            if let (Some(s), Some(e)) = (#start.as_ref(), #end.as_ref()) {
                if !#op.#add(rt::time::Window::new(s.millis(), e.millis()), key, (#(#row,)*)) {
                    cx.counters.late.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    #late
                }
            }
        }
    }

    /// The write of a row into one side of regular join `j`: its key (NULL: the row equals
    /// nothing and is dropped), then the join's `add`, whose joined rows run the join's emit
    /// function into what the branch continuing from the join writes to.
    #[allow(clippy::too_many_arguments)]
    fn regular_join_write(
        &mut self,
        j: usize,
        side: Side,
        index: usize,
        branch: &Branch,
        code: Vec<TokenStream>,
        matched: Vec<TokenStream>,
        key_patterns: Vec<TokenStream>,
        key_values: Vec<TokenStream>,
        row: Vec<TokenStream>,
    ) -> TokenStream {
        let (op, cond, emit) =
            (format_ident!("join_{}", j), format_ident!("join_cond_{}", j), format_ident!("join_emit_{}", j));
        let add = match side {
            Side::Left => quote!(add_left),
            Side::Right => quote!(add_right),
        };
        // What the continuing branch writes to (its sink writer, or its first window).
        let Some(next) = self.branches.iter().position(|b| b.from == Origin::Join(j)) else {
            self.error(branch.span, "a join whose output goes nowhere".into());
            return quote!();
        };
        let continuing = self.branches[next].clone();
        let split = continuing.steps.iter().position(|s| matches!(s, Step::WindowAggregate(_)));
        let arg = match split.map(|p| &continuing.steps[p]) {
            Some(Step::WindowAggregate(w)) => self.window_terminal(&format!("{next}_0"), w).1,
            _ => self.terminal(next, &continuing).1,
        };
        let _ = index;
        quote! {
            #(#code)*
            // A NULL key equals nothing (an outer side's row is still emitted, with NULLs).
            let key = match (#(#matched,)*) {
                (#(#key_patterns,)*) => Some((#(#key_values,)*)),
                #[allow(unreachable_patterns)]
                _ => None,
            };
            #op.#add(key, (#(#row,)*), #cond, |kind, l, r| #emit(kind, l, r, cx, #arg))?;
        }
    }

    /// Fused filters and projections, appended to `code`, updating `frame`.
    #[allow(clippy::too_many_arguments)]
    fn steps(
        &mut self,
        index: usize,
        first: usize,
        steps: &[Step],
        code: &mut Vec<TokenStream>,
        frame: &mut Vec<TokenStream>,
        label: &syn::Lifetime,
        branch: &Branch,
    ) {
        for (k, step) in steps.iter().enumerate() {
            let s = first + k;
            match step {
                Step::Filter(predicate) => {
                    let mut g = ExprGen { rows: &mut self.rows, frame };
                    match g.expr(predicate) {
                        Ok(c) => code.push(quote!(if !rt::ops::is_true(#c) { break #label; })),
                        Err(what) => self.error(branch.span, format!("cannot generate code for {what} yet")),
                    }
                }
                Step::Project(exprs) => {
                    let mut next = Vec::new();
                    let live = self.live.get(s).cloned().unwrap_or_default();
                    for (i, e) in exprs.iter().enumerate() {
                        // A column nothing downstream reads is not computed.
                        if !live.get(i).copied().unwrap_or(true) {
                            next.push(quote!(None::<()>));
                            continue;
                        }
                        let mut g = ExprGen { rows: &mut self.rows, frame };
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
                    *frame = next;
                }
                Step::WindowAggregate(_) | Step::Aggregate(_) | Step::TopN(_) => {
                    self.error(branch.span, "two stateful operators in one branch".into())
                }
            }
        }
    }

    /// Writes the chain's output row to the branch's sink.
    fn sink_write(
        &mut self,
        index: usize,
        branch: &Branch,
        frame: &[TokenStream],
        label: &syn::Lifetime,
    ) -> TokenStream {
        let Target::Sink { table, columns, output } = &branch.target else {
            self.error(branch.span, "a join input written as a table".into());
            return quote!();
        };
        let t = &self.program.tables[table.0];
        let ws = sink_struct(t);
        let out = format_ident!("out_{}", index);
        let mut inits = Vec::new();
        let mut writable = 0usize;
        for (ci, c) in t.columns.iter().enumerate() {
            if !is_writable(&c.kind) {
                continue;
            }
            let f = field_ident(&c.name, writable);
            let value = match columns.iter().position(|&k| k == ci) {
                // A column whose expression failed (and was reported) has no code.
                Some(k) if k >= frame.len() => quote!(None),
                Some(k) => {
                    let mut g = ExprGen { rows: &mut self.rows, frame };
                    let place = &frame[k];
                    match g.cast(quote!(#place.clone()), &output[k], &c.ty, false) {
                        Ok(v) => {
                            if !c.ty.nullable && output[k].nullable {
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
        if self.updating || updates(branch, &self.joins) {
            quote!(#out.write(rt::Change::new(kind, #ws { #(#inits),* }))?;)
        } else {
            quote!(#out.write(#ws { #(#inits),* })?;)
        }
    }
}

/// Whether a branch writes an updating result: it aggregates without a window, ranks, or
/// continues from an outer regular join.
fn updates(branch: &Branch, joins: &[crate::plan::WindowJoin]) -> bool {
    let outer_join = match branch.from {
        Origin::Join(j) => joins[j].left_window.is_none() && joins[j].kind != crate::ast::JoinKind::Inner,
        _ => false,
    };
    outer_join || branch.steps.iter().any(|s| matches!(s, Step::Aggregate(_) | Step::TopN(_)))
}

/// [`live_outputs`] of the steps `post` that end `branch` (their input `width` wide), for
/// code generated for those steps alone; indexed like the branch's steps.
fn live_outputs_from(branch: &Branch, post: &[Step], width: usize) -> Vec<Vec<bool>> {
    let tail = Branch {
        from: branch.from,
        steps: post.to_vec(),
        target: branch.target.clone(),
        table: branch.table,
        span: branch.span,
    };
    let mut live = vec![Vec::new(); branch.steps.len() - post.len()];
    live.extend(live_outputs(&tail, width));
    live
}

/// The name a task's state has in checkpoints: its source table, or `values_<i>`.
fn task_name(program: &Program, pipeline: &Pipeline, i: usize) -> String {
    match pipeline.tasks[i].input {
        Input::Table(id) => program.tables[id.0].name.clone(),
        Input::Values(_) => format!("values_{i}"),
    }
}

/// The number of columns a step outputs (a window aggregation's: its group columns, the
/// legacy window bounds, its aggregates).
fn output_width(step: &Step) -> usize {
    match step {
        Step::WindowAggregate(a) => a.group.len() + if a.legacy { 3 } else { 0 } + a.aggregates.len(),
        Step::Aggregate(g) => g.group.len() + g.aggregates.len(),
        Step::TopN(t) => t.input.len() + 1,
        Step::Project(exprs) => exprs.len(),
        Step::Filter(_) => 0,
    }
}

/// For each step of `branch` (whose input has `width` columns), which of its output
/// columns the steps after it and the target read.
fn live_outputs(branch: &Branch, width: usize) -> Vec<Vec<bool>> {
    let mut widths = Vec::with_capacity(branch.steps.len());
    let mut w = width;
    for step in &branch.steps {
        w = match step {
            Step::Filter(_) => w,
            Step::Project(exprs) => exprs.len(),
            Step::WindowAggregate(a) => a.group.len() + if a.legacy { 3 } else { 0 } + a.aggregates.len(),
            Step::Aggregate(g) => g.group.len() + g.aggregates.len(),
            Step::TopN(t) => t.input.len() + 1,
        };
        widths.push(w);
    }
    let mark = |need: &mut Vec<bool>, e: &crate::hir::Expr| {
        let mut cols = Vec::new();
        e.columns(&mut cols);
        for c in cols {
            if let Some(n) = need.get_mut(c) {
                *n = true;
            }
        }
    };
    // Sinks and joins read every column of the branch's output.
    let mut need = vec![true; w];
    let mut live = vec![Vec::new(); branch.steps.len()];
    for (i, step) in branch.steps.iter().enumerate().rev() {
        let input = if i == 0 { width } else { widths[i - 1] };
        let mut before = vec![false; input];
        match step {
            Step::Filter(p) => {
                before = need.clone();
                mark(&mut before, p);
            }
            Step::Project(exprs) => {
                for (e, _) in exprs.iter().zip(&need).filter(|(_, n)| **n) {
                    mark(&mut before, e);
                }
            }
            Step::WindowAggregate(a) => {
                match a.windows {
                    crate::plan::Windows::Given { start, end } => {
                        before[start] = true;
                        before[end] = true;
                    }
                    crate::plan::Windows::Assigned(_) => before[a.time_column] = true,
                }
                a.group.iter().flatten().for_each(|e| mark(&mut before, e));
                for call in &a.aggregates {
                    call.args.iter().chain(&call.filter).for_each(|e| mark(&mut before, e));
                }
            }
            Step::Aggregate(g) => {
                g.group.iter().for_each(|e| mark(&mut before, e));
                for call in &g.aggregates {
                    call.args.iter().chain(&call.filter).for_each(|e| mark(&mut before, e));
                }
            }
            // The row is kept whole (its columns go on), sorted and partitioned.
            Step::TopN(_) => before = vec![true; input],
        }
        live[i] = std::mem::replace(&mut need, before);
    }
    live
}
