//! `codegen`: the dataflow plan → the Rust source of a pipeline binary.
//!
//! The generated code is thin glue: one struct per table row and ROW type, the table
//! options as static data, and per source task one closure in which every branch's
//! filters and projections are fused into straight-line code over `Option` values. The
//! operators and connectors it calls are precompiled in the runtime crate `dfl`, reached
//! as `::dfl::__private` (aliased `rt`).

mod exchange;
mod expr;
mod flow;
mod functions;
mod merged;
mod rows;
mod sources;
mod stateful;
mod task;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::hir::{ColumnKind, Program, Table, TableId};
use crate::plan::{Branch, Input, Pipeline, Step, Target};
use crate::span::Span;
use expr::ExprGen;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use rows::{RowTypes, field_ident, is_writable, struct_ident};
use sources::unread_columns;
use std::collections::HashMap;

/// The generated program.
#[derive(Debug, Clone)]
pub struct Generated {
    /// `src/main.rs`, formatted.
    pub main_rs: String,
    /// Cargo features of the runtime the code needs (`rocksdb` for that state backend).
    pub features: Vec<&'static str>,
}

/// Lints generated code may trip (names as SQL spells them, code paths a query does not
/// use): allowed in the generated crate, and on every module embedding generated code.
pub const ALLOWED_LINTS: &str = "non_snake_case, non_camel_case_types, unused_variables, unused_mut, unused_imports, unused_labels, unused_braces, unused_parens, dead_code, clippy::all";

/// Connectors code generation can read from / write to today.
const SOURCES: &[&str] = &["filesystem", "datagen", "nexmark", "kafka", "upsert-kafka", "rust"];
const SINKS: &[&str] = &["filesystem", "print", "blackhole", "kafka", "upsert-kafka", "redis", "rust"];

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
        task_index: 0,
        worker: false,
        stage: Stage::None,
        routing: None,
        worker_event_time: false,
        route_positions: HashMap::new(),
        join_positions: HashMap::new(),
        side_inputs: Vec::new(),
        instance_source: None,
        instance: false,
        partition_stage: None,
        shuffled: false,
        joins: pipeline.joins.clone(),
        lives: Vec::new(),
        labels: 0,
        flushes: Vec::new(),
        closing: Vec::new(),
        branches: Vec::new(),
        current: 0,
        updating: false,
        updating_second: false,
        backend: Backend::Memory,
        batch_lookups: false,
        batched: Vec::new(),
        lookup_fires: Vec::new(),
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
    let mut features = match g.backend {
        Backend::Memory => Vec::new(),
        Backend::RocksDb => vec!["rocksdb"],
    };
    if program.tables.iter().any(|t| t.connector == "redis") {
        features.push("redis");
    }
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
    /// The index of the current task (its `t<i>` in `dflc explain`).
    task_index: usize,
    /// Whether the task being generated is a worker of a task run N-wide (its rows come
    /// from a router), and whether it follows the router's event-time watermark.
    worker: bool,
    /// Which stage of a task run N-wide in two stages is being generated.
    stage: Stage,
    /// While the router's prefix is generated: its rows go to `routed`, after the columns
    /// `.0` and before `.1` (the other parts of the routed row; [`exchange::Prefix`]).
    routing: Option<(Vec<TokenStream>, Vec<TokenStream>)>,
    worker_event_time: bool,
    /// For a worker: where the route key is in the key of each keyed step (branch, step)
    /// ([`crate::parallel::Exchange::positions`]).
    route_positions: HashMap<(usize, usize), Vec<usize>>,
    /// For a worker: where the route key is in the equality key of each join
    /// ([`crate::parallel::Exchange::joins`]).
    join_positions: HashMap<usize, Vec<usize>>,
    /// For a worker of a task whose join sides are routed each by its own key: per branch
    /// feeding the join, how the worker tells the rows the branch runs for.
    side_inputs: Vec<exchange::SideInput>,
    /// The Kafka source of a task run as an instance per partition (`'scale-out.mode'`),
    /// read by the task's thread while the instances (the task's code) take its records.
    instance_source: Option<TokenStream>,
    /// Whether the task being generated runs per partition of its shuffle topic (its table
    /// repartitioned by its key, `dfl::connectors::kafka::shuffle`): its watermark comes
    /// from the writers' marks.
    shuffled: bool,
    /// Whether the task being generated runs per Kafka partition.
    instance: bool,
    /// Of a task whose state is kept per Kafka partition in two stages
    /// ([`crate::parallel::partition_stages`]): the table whose options name its stage
    /// topic, the task's name, and the type of the rows the first stage writes there.
    partition_stage: Option<(String, String, TokenStream)>,
    /// The pipeline's window joins.
    joins: Vec<crate::plan::WindowJoin>,
    /// Per branch of the current task and step, which of its output columns later steps read.
    lives: Vec<Vec<Vec<bool>>>,
    /// Labels of blocks generated so far (each block its own).
    labels: usize,
    /// Window Top-N flushes, run after the window operator whose firing feeds them.
    flushes: Vec<TokenStream>,
    /// Window Top-N flushes of a task's second stage, run after each event against the
    /// watermark (before the operators fire).
    closing: Vec<TokenStream>,
    /// The current task's branches, and the index of the one being generated.
    branches: Vec<Branch>,
    current: usize,
    /// Whether the current task's rows are changes (its source is a changelog), and its
    /// second input's (a task reading two tables).
    updating: bool,
    updating_second: bool,
    /// Where operators keep their state (`SET 'state.backend'`).
    backend: Backend,
    /// Whether the current task queues the rows of Redis lookup joins to fetch their keys
    /// in batches (a task reading one table), and the lookups it queues (branch, step).
    batch_lookups: bool,
    batched: Vec<(usize, usize)>,
    /// The fetch-and-join code of each batched lookup, for its fire node.
    lookup_fires: Vec<((usize, usize), TokenStream)>,
}

/// Which part of a task run in two stages ([`crate::parallel::stage_plan`]) the code
/// being generated is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Neither: the task runs whole.
    None,
    /// A worker of the first stage: it sends its window's output, watermark, barriers and
    /// end to the second (`stage_out`, a `dfl::stage::StageWriter`).
    First,
    /// The second stage, on one thread: its input is the first stage's output
    /// ([`Input::Stage`]), merged from the workers.
    Second,
}

/// The state backend the pipeline is compiled with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Memory,
    RocksDb,
}

/// Per task: the operators, join conditions and queues declared before its source loop,
/// and the operators a checkpoint saves (their variable, and a fingerprint of their
/// state's types).
#[derive(Default)]
struct Stateful {
    setup: Vec<TokenStream>,
    operators: Vec<(proc_macro2::Ident, String)>,
    /// In a worker, per keyed operator: which of its keys the worker owns, a closure over
    /// `rescaled` (a `dfl::checkpoint::Rescaled`), for restores at another parallelism.
    keeps: Vec<(proc_macro2::Ident, TokenStream)>,
}

impl Gen<'_> {
    /// Declares the meter of the current task's stateful operator `op` (also its section
    /// of the task's snapshot), `id` as `dflc explain` shows it, of kind `kind`; returns
    /// the meter's variable, which counts rows in and out.
    fn meter(&mut self, op: &proc_macro2::Ident, id: &str, kind: &str) -> proc_macro2::Ident {
        let m = format_ident!("meter_{}", op);
        let section = op.to_string();
        self.stateful.setup.push(quote!(let #m = task.operator_meter(#id, #kind, #section);));
        m
    }

    /// The event time of the rows branch `b` writes, for its sink's event-time latency: a
    /// `.with_event_time(…)` reading the written column that holds the query's rowtime
    /// attribute, else its window end; nothing if no written column does.
    fn event_time_reader(&self, b: usize) -> TokenStream {
        let branch = &self.branches[b];
        let Target::Sink { table, columns, .. } = &branch.target else { return quote!() };
        let inserts = &self.program.inserts;
        let Some(insert) = inserts
            .iter()
            .find(|i| i.table == branch.table && i.span == branch.span)
            .or_else(|| inserts.iter().find(|i| i.table == branch.table))
        else {
            return quote!();
        };
        let schema = &insert.query.schema;
        let t = &self.program.tables[table.0];
        let written = |k: usize| {
            columns.get(k).filter(|&&ci| is_writable(&t.columns[ci].kind) && t.columns[ci].ty.is_timestamp())
        };
        let pick = |test: &dyn Fn(&crate::hir::Field) -> bool| {
            schema.iter().enumerate().find(|(k, f)| test(f) && written(*k).is_some())
        };
        let found = pick(&|f| f.time == Some(crate::hir::TimeAttribute::Rowtime))
            .or_else(|| pick(&|f| f.window == Some(crate::hir::WindowBound::End)));
        let Some((k, _)) = found else { return quote!() };
        let ci = columns[k];
        let position = t.columns[..ci].iter().filter(|c| is_writable(&c.kind)).count();
        let f = field_ident(&t.columns[ci].name, position);
        let ws = sink_struct(t);
        quote!(.with_event_time(|r: &#ws| r.#f.as_ref().map(|t| t.millis())))
    }

    /// Records keyed operator `op` of step `slot` (`<branch>_<step>`), keyed by tuples of
    /// type `key_ty`, whose state's types `declaration` declares, for checkpoints; in a
    /// worker, with the test of which keys the worker owns at a restore at another
    /// parallelism (the hash of the route key's components, taken from the key tuple).
    fn keyed_operator(
        &mut self,
        op: &proc_macro2::Ident,
        declaration: &TokenStream,
        slot: &str,
        key_ty: &proc_macro2::Ident,
    ) {
        self.stateful.operator(op, declaration);
        let step = slot.split_once('_').and_then(|(b, s)| Some((b.parse().ok()?, s.parse().ok()?)));
        let Some(at) = step.and_then(|step| self.route_positions.get(&step)).filter(|_| self.worker) else { return };
        let fields = at.iter().map(|&i| syn::Index::from(i));
        self.stateful
            .keeps
            .push((op.clone(), quote!(&|k: &#key_ty| rescaled.owns(rt::exchange::hash_key(&(#(&k.#fields,)*))))));
    }

    /// The `dflc explain` id of the current task's operator at `slot` (`<branch>_<step>`).
    fn step_id(&self, slot: &str) -> String {
        let (b, s) = slot.split_once('_').unwrap_or((slot, "0"));
        format!("t{}.b{b}.s{s}", self.task_index)
    }
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

/// The typed API of an embedded pipeline: `pipeline()` returns a value with a method per
/// `rust` table — `feed_<table>` (rows of its read struct) for tables read,
/// `collect_<table>` (changes of its written struct) for tables written — and `set`,
/// `run` and `spawn` (see `dfl::embedded`).
fn embedded_api(program: &Program, pipeline: &Pipeline, spec: &TokenStream) -> TokenStream {
    let read: Vec<TableId> = pipeline
        .tasks
        .iter()
        .flat_map(|t| match t.input {
            Input::Table(a) => vec![a],
            Input::Tables(a, b) => vec![a, b],
            Input::Values(_) | Input::Stage(_) => vec![],
        })
        .collect();
    let mut methods = Vec::new();
    for (i, t) in program.tables.iter().enumerate() {
        if t.connector != "rust" {
            continue;
        }
        let name = &t.name;
        let part = struct_ident("x", &t.name.to_ascii_lowercase()).to_string()[2..].to_string();
        if read.contains(&TableId(i)) {
            let (method, ts) = (format_ident!("feed_{}", part), table_struct(t));
            let doc = format!("Hands table `{name}` its rows (a std or tokio `Receiver`, a `Vec`, `Rows(iterator)`).");
            methods.push(quote! {
                #[doc = #doc]
                pub fn #method(self, rows: impl rt::connectors::rust::IntoRows<#ts>) -> Self {
                    Pipeline(self.0.feed(#name, rows))
                }
            });
        }
        if pipeline.sinks.contains(&TableId(i)) {
            let (method, ws) = (format_ident!("collect_{}", part), sink_struct(t));
            let doc = format!("Hands table `{name}` where its changes go (a std or tokio `Sender` of `Change`s).");
            methods.push(quote! {
                #[doc = #doc]
                pub fn #method(self, changes: impl rt::connectors::rust::IntoChanges<#ws>) -> Self {
                    Pipeline(self.0.collect(#name, changes))
                }
            });
        }
    }
    quote! {
        /// The pipeline as a value the program runs (`pipeline().….spawn()`).
        pub struct Pipeline(pub ::dfl::embedded::Pipeline);

        /// The pipeline, to feed, set and run.
        pub fn pipeline() -> Pipeline {
            Pipeline(::dfl::embedded::Pipeline::new(#spec, run))
        }

        impl Pipeline {
            /// Sets a table option (`table.option`) or a pipeline setting.
            pub fn set(self, key: &str, value: &str) -> Self {
                Pipeline(self.0.set(key, value))
            }

            #(#methods)*

            /// Runs it on this thread until its sources end.
            pub fn run(self) -> rt::Result<::dfl::embedded::Summary> {
                self.0.run()
            }

            /// Starts it on a thread of its own.
            pub fn spawn(self) -> rt::Result<::dfl::embedded::Running> {
                self.0.spawn()
            }
        }
    }
}

/// The options of Redis table `t` checked at start: its written columns and primary key.
fn redis_table(t: &Table) -> TokenStream {
    let name = &t.name;
    let columns = t.columns.iter().filter(|c| is_writable(&c.kind)).map(|c| c.name.as_str());
    let pk = t.primary_key.iter().map(|&i| t.columns[i].name.as_str());
    quote!(rt::connectors::redis::RedisTable::new(cx.table(#name)?, &[#(#columns),*], &[#(#pk),*])?)
}

/// The columns a Redis table's key is made of, in order: the `{column}` placeholders of its
/// `'key'` template, or its PRIMARY KEY.
fn redis_key_columns(t: &Table) -> Vec<String> {
    let template = t.options.get("key").map(String::as_str);
    match template {
        Some(template) => template
            .split('{')
            .skip(1)
            .filter_map(|part| part.split_once('}').map(|(name, _)| name.trim().to_string()))
            .collect(),
        None => t.primary_key.iter().map(|&i| t.columns[i].name.clone()).collect(),
    }
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
            let lookups = t.branches.iter().flat_map(|b| &b.steps).filter_map(|s| match s {
                Step::Lookup(l) => Some(l.table),
                _ => None,
            });
            let read = match t.input {
                Input::Table(id) => vec![id],
                Input::Tables(a, b) => vec![a, b],
                Input::Values(_) | Input::Stage(_) => Vec::new(),
            };
            for id in read.into_iter().chain(lookups) {
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
        let mut names = Vec::new();
        let mut any_parallel = false;
        let task_names: Vec<String> = (0..pipeline.tasks.len()).map(|i| task_name(program, pipeline, i)).collect();
        // Tasks that can run N-wide do when the query sets a parallelism above 1.
        let parallel =
            program.settings.get("parallelism.default").and_then(|p| p.trim().parse::<u32>().ok()).unwrap_or(1) > 1;
        let per_partition = crate::parallel::per_partition(program);
        // Tasks a checkpoint waits for besides the pipeline's (second stages).
        let mut expected: Vec<String> = task_names.clone();
        for (i, task) in pipeline.tasks.iter().enumerate() {
            self.task_index = i;
            let name = &task_names[i];
            if per_partition {
                use crate::parallel::Partitioning;
                let plan = crate::parallel::partition_plan(program, pipeline, task);
                let stages = match plan {
                    Ok(Partitioning::PerPartition | Partitioning::Repartitioned) => {
                        crate::parallel::partition_stages(program, task)
                    }
                    _ => None,
                };
                if let Some(stages) = stages {
                    // Up to the window per partition, the rest per partition of the stage topic.
                    let writers = match plan {
                        Ok(Partitioning::Repartitioned) => match self.shuffle_writers(pipeline, i, name) {
                            Some(writers) => writers,
                            None => continue,
                        },
                        _ => exchange::ShuffleWriters::default(),
                    };
                    let (defs, writers, writer_names) = (writers.defs, writers.tasks, writers.names);
                    let shuffled = matches!(plan, Ok(Partitioning::Repartitioned));
                    let (code, second) = self.partition_staged(name, &stages, shuffled);
                    tasks.push(quote! {
                        #(#defs)*
                        #(tasks.push(#writers);)*
                        #code
                    });
                    names.push(quote! {
                        #(names.push(#writer_names.to_string());)*
                        names.push(#name.to_string());
                        names.push(#second.to_string());
                    });
                    expected.push(second);
                    continue;
                }
                match plan {
                    Ok(Partitioning::PerPartition) => {
                        self.instance = true;
                        let code = self.task(task, name);
                        self.instance = false;
                        tasks.push(quote!(tasks.push(#code);));
                        names.push(quote!(names.push(#name.to_string());));
                        continue;
                    }
                    Ok(Partitioning::Repartitioned) => {
                        // A writer of the shuffle topic per table, and the instances reading it.
                        let Some(writers) = self.shuffle_writers(pipeline, i, name) else { continue };
                        let (defs, writers, writer_names) = (writers.defs, writers.tasks, writers.names);
                        (self.instance, self.shuffled) = (true, true);
                        let code = self.task(task, name);
                        (self.instance, self.shuffled) = (false, false);
                        tasks.push(quote! {
                            #(#defs)*
                            #(tasks.push(#writers);)*
                            tasks.push(#code);
                        });
                        names.push(quote! {
                            #(names.push(#writer_names.to_string());)*
                            names.push(#name.to_string());
                        });
                        continue;
                    }
                    Ok(Partitioning::Whole) => {}
                    Err(why) => {
                        let span = task.branches.first().map(|b| b.span).unwrap_or_default();
                        self.diagnostics.push(
                            Diagnostic::error(
                                Code::NotYetCompiled,
                                format!("task `{name}` cannot keep its state per Kafka partition: {why}"),
                            )
                            .at(span, "with 'scale-out.mode' = 'partition'")
                            .with_help(
                                "a task keeping keyed state runs an instance per partition of a `kafka` table read \
                                 in a consumer group, keyed by a part of its key (docs/scaling.md)",
                            ),
                        );
                    }
                }
            }
            match crate::parallel::wide_plan(program, pipeline, task).ok().filter(|_| parallel) {
                Some(crate::parallel::Wide::Whole(exchange)) if matches!(task.input, Input::Tables(..)) => {
                    any_parallel = true;
                    let (code, task_names) = self.tables_wide(i, name, task, &exchange);
                    tasks.push(code);
                    names.push(task_names);
                }
                Some(crate::parallel::Wide::Whole(exchange)) => {
                    any_parallel = true;
                    let prefix = self.prefix(task, &exchange);
                    let (routing, def) = self.routing(i, task, &exchange, prefix.as_ref());
                    let hub = format_ident!("hub_{}", i);
                    let wide = prefix.as_ref().map_or_else(|| task.clone(), |p| p.worker_task(task));
                    self.worker = true;
                    self.route_positions = exchange.positions.clone();
                    self.join_positions = exchange.joins.clone();
                    self.side_inputs = routing.side_inputs(prefix.as_ref());
                    let worker = self.task(&wide, name);
                    self.worker = false;
                    self.side_inputs.clear();
                    let router = self.router(task, name, &hub, &routing, prefix.as_ref());
                    let ts = self.routed_type(task, prefix.as_ref());
                    tasks.push(quote! {
                        #def
                        let #hub = rt::exchange::Hub::<#ts>::new(parallelism);
                        tasks.push(#router);
                        for index in 0..parallelism {
                            let hub = &#hub;
                            tasks.push(#worker);
                        }
                    });
                    names.push(quote! {
                        names.push(#name.to_string());
                        names.extend((0..parallelism).map(|w| format!("{}#{w}", #name)));
                    });
                }
                Some(crate::parallel::Wide::Staged(stages, _)) => {
                    any_parallel = true;
                    tasks.push(self.staged(i, name, &stages));
                    names.push(quote! {
                        names.push(#name.to_string());
                        names.extend((0..parallelism).map(|w| format!("{}#{w}", #name)));
                        names.push(format!("{}.merge", #name));
                    });
                }
                None => {
                    let code = self.task(task, name);
                    tasks.push(quote!(tasks.push(#code);));
                    names.push(quote!(names.push(#name.to_string());));
                }
            }
        }
        // The tasks a checkpoint has: known at compile time, unless tasks run N-wide.
        let expect_tasks = if any_parallel {
            quote! {
                let parallelism = rt::exchange::parallelism(cx)?;
                let mut names: Vec<String> = Vec::new();
                #(#names)*
                if let Some(c) = cx.checkpoints() {
                    c.expect_tasks(&names.iter().map(String::as_str).collect::<Vec<_>>())?;
                }
            }
        } else {
            quote! {
                if let Some(c) = cx.checkpoints() {
                    c.expect_tasks(&[#(#expected),*])?;
                }
            }
        };
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
            let api = embedded_api(self.program, pipeline, &spec);
            (
                quote!(),
                quote! {
                    /// Runs the pipeline as its binary would: `--set` arguments, signals,
                    /// a summary on standard error.
                    pub fn main(args: Vec<String>) -> std::process::ExitCode {
                        rt::pipeline::main_with_args(#spec, run, args)
                    }

                    #api
                },
            )
        } else {
            let lints: TokenStream = ALLOWED_LINTS.parse().unwrap_or_default();
            (
                quote! {
                    #![doc = #source]
                    #![allow(#lints)]
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
                #expect_tasks
                #(#sink_setup)*
                let mut tasks: Vec<rt::Task<'_>> = Vec::new();
                #(#tasks)*
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
        // PARTITIONED BY: Hive-style directories of a filesystem sink, named by the
        // partition columns of the row written (so they must be written columns).
        let partitions: Vec<&str> = t.partitioned_by.iter().map(|&i| t.columns[i].name.as_str()).collect();
        if !partitions.is_empty() && t.connector != "filesystem" {
            self.error(
                t.span,
                format!(
                    "writing the partitioned table `{}` (PARTITIONED BY) is supported for 'filesystem' tables only",
                    t.name
                ),
            );
        }
        for &i in &t.partitioned_by {
            if !rows::is_writable(&t.columns[i].kind) {
                self.error(
                    t.span,
                    format!(
                        "the partition column `{}` of `{}` is computed or virtual; partition columns must be \
                         written columns",
                        t.columns[i].name, t.name
                    ),
                );
            }
        }
        let make = match t.connector.as_str() {
            "filesystem" if !partitions.is_empty() => quote!(rt::connectors::filesystem::partitioned_sink::<#ws>(
                cx.table(#name)?, &#cols, &[#(#partitions),*]
            )?),
            "filesystem" => quote!(rt::connectors::filesystem::sink::<#ws>(cx.table(#name)?, &#cols)?),
            "print" => quote!(rt::connectors::print::sink::<#ws>(cx.table(#name)?, &#cols)?),
            "blackhole" => quote!(rt::connectors::blackhole::sink::<#ws>()),
            "rust" => quote!(rt::connectors::rust::sink::<#ws>(cx, #name)?),
            "kafka" => match self.kafka_write_metadata(t) {
                None => quote!(rt::connectors::kafka::sink::<#ws>(cx.table(#name)?, &#cols)?),
                Some(metadata) => {
                    quote!(rt::connectors::kafka::sink_with_metadata::<#ws>(cx.table(#name)?, &#cols, #metadata)?)
                }
            },
            "redis" => {
                let table = redis_table(t);
                quote!(rt::connectors::redis::sink::<#ws>(#table)?)
            }
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
        if self.branch_updates(index) {
            quote!(#out.write(rt::Change::new(kind, #ws { #(#inits),* }))?;)
        } else {
            quote!(#out.write(#ws { #(#inits),* })?;)
        }
    }
}

/// The name a task's state has in checkpoints: its source table, or `values_<i>`.
pub(crate) fn task_name(program: &Program, pipeline: &Pipeline, i: usize) -> String {
    match pipeline.tasks[i].input {
        Input::Table(id) => program.tables[id.0].name.clone(),
        Input::Tables(a, b) => tables_task_name(&program.tables[a.0], &program.tables[b.0]),
        Input::Values(_) | Input::Stage(_) => format!("values_{i}"),
    }
}

/// The name of the task reading tables `a` and `b`.
fn tables_task_name(a: &Table, b: &Table) -> String {
    format!("{}+{}", a.name, b.name)
}

/// The number of columns a step outputs (a window aggregation's: its group columns, the
/// legacy window bounds, its aggregates).
fn output_width(step: &Step) -> usize {
    match step {
        Step::WindowAggregate(a) => a.group.len() + if a.legacy { 3 } else { 0 } + a.aggregates.len(),
        Step::Aggregate(g) => g.group.len() + g.aggregates.len(),
        Step::TopN(t) => t.input.len() + 1,
        Step::Project(exprs) => exprs.len(),
        Step::Over(o) => o.input.len() + o.aggregates.len(),
        Step::Filter(_) | Step::Lookup(_) => 0,
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
            Step::Lookup(l) => w + l.columns.len(),
            Step::Over(o) => o.input.len() + o.aggregates.len(),
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
            // The row is kept whole (its columns go on), partitioned, ordered, aggregated.
            Step::Over(_) => before = vec![true; input],
            // The input's columns go on; the keys and condition read some more.
            Step::Lookup(l) => {
                before.copy_from_slice(&need[..input]);
                l.keys.iter().for_each(|(e, _)| mark(&mut before, e));
                if let Some(c) = &l.condition {
                    mark(&mut before, c);
                }
            }
        }
        live[i] = std::mem::replace(&mut need, before);
    }
    live
}
