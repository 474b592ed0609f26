//! The code of a task run N-wide (see [`crate::parallel`]): the hash of its route key over
//! the source row, and its router reading the source into the workers (the task's
//! ordinary code over the router's rows, instantiated N times; see `dfl::exchange`).

use super::expr::ExprGen;
use super::{Gen, live_outputs};
use crate::hir::TableId;
use crate::parallel::Exchange;
use crate::plan::{Input, Pipeline, Step, Target, Task};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// The writers of a repartitioned task: the route functions they call, their tasks and
/// their names.
#[derive(Default)]
pub(super) struct ShuffleWriters {
    pub(super) defs: Vec<TokenStream>,
    pub(super) tasks: Vec<TokenStream>,
    pub(super) names: Vec<String>,
}

/// What the router of a task run N-wide does to each row before routing it
/// ([`crate::parallel::router_prefix`]): the workers then take a few projected columns
/// rather than the source's whole row (often hundreds of bytes, copied twice), and no row
/// filtered out.
pub(super) struct Prefix {
    /// One part per branch whose first steps the router runs: the task's one input branch,
    /// or each side of a join of two branches of the table.
    parts: Vec<Part>,
}

/// The steps of one branch the router runs, and where their output is in the routed row.
struct Part {
    /// The input branch, and how many of its steps the router runs.
    branch: usize,
    steps: usize,
    /// Where the part's columns start in the routed row. A join side's columns follow a
    /// marker column, set (`Some(())`) in the rows the side takes: a row goes to a side's
    /// worker with that side's columns only.
    offset: usize,
    marked: bool,
    /// The columns the workers take: their types, `None` for those no later step reads
    /// (sent as `None::<()>`).
    columns: Vec<Option<crate::types::Type>>,
    /// Per step of the prefix, which of its output columns are read later.
    live: Vec<Vec<bool>>,
}

/// The routed row's columns of `parts`, in order: per part, its marker (unread) and its
/// columns.
fn routed_columns(parts: &[Part]) -> Vec<Option<crate::types::Type>> {
    parts.iter().flat_map(|p| p.marked.then_some(None).into_iter().chain(p.columns.iter().cloned())).collect()
}

impl Part {
    /// The part's columns' places in the routed row (`row.<i>`).
    fn frame(&self) -> Vec<TokenStream> {
        let first = self.offset + usize::from(self.marked);
        (first..first + self.columns.len())
            .map(|i| {
                let i = syn::Index::from(i);
                quote!(row.#i)
            })
            .collect()
    }
}

impl Prefix {
    /// Task `task` as its workers run it: reading the routed row (an [`Input::Stage`]),
    /// the router's steps left as filters letting every row through (each step keeps its
    /// place, its operator ids and metrics with it).
    pub(super) fn worker_task(&self, task: &Task) -> Task {
        let mut worker = task.clone();
        let boolean = crate::types::Type::boolean;
        worker.input =
            Input::Stage(routed_columns(&self.parts).into_iter().map(|c| c.unwrap_or_else(boolean)).collect());
        let pass =
            crate::hir::Expr { kind: crate::hir::ExprKind::Literal(crate::hir::Value::Boolean(true)), ty: boolean() };
        for part in &self.parts {
            for step in &mut worker.branches[part.branch].steps[..part.steps] {
                *step = Step::Filter(pass.clone());
            }
        }
        worker
    }
}

/// How a worker of a task joining two branches of its table tells the rows of a side's
/// branch: the condition it runs the branch under, and the columns the branch reads when
/// they are not the routed row's own.
pub(super) struct SideInput {
    pub(super) branch: usize,
    pub(super) gate: TokenStream,
    pub(super) frame: Option<Vec<TokenStream>>,
}

/// How a task's router picks the worker of each row.
pub(super) enum Routing {
    /// By the hash of the route key, which `route_<i>(row)` gives.
    Key(proc_macro2::Ident),
    /// A join of two branches of the table, each side by its own key: per branch feeding
    /// the join, the function hashing its key and, without a prefix, the function telling
    /// whether a row passes the filters the branch starts with (it feeds that side).
    Sides(Vec<Side>),
}

pub(super) struct Side {
    branch: usize,
    hash: proc_macro2::Ident,
    passes: Option<proc_macro2::Ident>,
}

impl Routing {
    /// How a worker tells each join side's rows: with a prefix, by the side's marker and
    /// columns in the routed row (the router sends a side's worker that side's columns);
    /// otherwise by the hash of the side's key over the source row, which the worker owns.
    pub(super) fn side_inputs(&self, prefix: Option<&Prefix>) -> Vec<SideInput> {
        let Routing::Sides(sides) = self else { return Vec::new() };
        if let Some(p) = prefix {
            return (p.parts.iter())
                .map(|part| {
                    let marker = syn::Index::from(part.offset);
                    SideInput { branch: part.branch, gate: quote!(row.#marker.is_some()), frame: Some(part.frame()) }
                })
                .collect();
        }
        (sides.iter())
            .map(|s| {
                let hash = &s.hash;
                let gate = quote!(rt::exchange::worker_of(rt::exchange::key_group(#hash(&row)), parallelism) == index);
                SideInput { branch: s.branch, gate, frame: None }
            })
            .collect()
    }
}

/// The conjuncts of `e` (`a AND b AND c`: each; another expression: itself).
fn conjuncts_of(e: &crate::hir::Expr, out: &mut Vec<crate::hir::Expr>) {
    match &e.kind {
        crate::hir::ExprKind::Call { function, args } if function == "AND" => {
            args.iter().for_each(|a| conjuncts_of(a, out));
        }
        _ => out.push(e.clone()),
    }
}

impl Gen<'_> {
    /// How task `i` run N-wide by `exchange` routes its rows, and the functions that does
    /// it with.
    pub(super) fn routing(
        &mut self,
        i: usize,
        task: &Task,
        exchange: &Exchange,
        prefix: Option<&Prefix>,
    ) -> (Routing, TokenStream) {
        if exchange.sides.is_empty() {
            let (route, def) = self.route_fn(i, task, exchange);
            return (Routing::Key(route), def);
        }
        let Input::Table(id) = task.input else { unreachable!("checked by join_exchange") };
        let (mut sides, mut defs) = (Vec::new(), Vec::new());
        for (b, key) in &exchange.sides {
            let branch = &task.branches[*b];
            let (hash, passes) = (format_ident!("route_{}_{}", i, b), format_ident!("passes_{}_{}", i, b));
            defs.push(self.route_fn_over(&hash, id, key, branch.span));
            // With a prefix, the router runs the side's filters as they are.
            let passes = prefix.is_none().then(|| {
                defs.push(self.passes_fn(&passes, id, &branch.steps, branch.span));
                passes
            });
            sides.push(Side { branch: *b, hash, passes });
        }
        (Routing::Sides(sides), quote!(#(#defs)*))
    }

    /// The function `f` telling whether a row of table `id` passes the filters `steps`
    /// start with (through the projections among them), so that the router sends a join
    /// side's worker only the rows that side takes. The worker runs the filters again; one
    /// that may give another value then (the clock, `RAND()`, a Rust function) lets every
    /// row through here, so that a row is filtered once.
    fn passes_fn(
        &mut self,
        f: &proc_macro2::Ident,
        id: TableId,
        steps: &[Step],
        span: crate::span::Span,
    ) -> TokenStream {
        let t = &self.program.tables[id.0];
        let ts = super::table_struct(t);
        let frame = self.source_frame(t);
        let mut tests = Vec::new();
        let mut columns: Option<Vec<crate::hir::Expr>> = None;
        for step in steps {
            let over = |e: &crate::hir::Expr| columns.as_ref().map_or_else(|| e.clone(), |c| e.substituted(c));
            match step {
                Step::Filter(predicate) => {
                    let mut conjuncts = Vec::new();
                    conjuncts_of(&over(predicate), &mut conjuncts);
                    for c in conjuncts.into_iter().filter(|c| !crate::parallel::unstable_over(t, c)) {
                        let mut g = ExprGen { rows: &mut self.rows, frame: &frame };
                        match g.expr(&c) {
                            Ok(c) => tests.push(quote!(rt::ops::is_true(#c))),
                            Err(what) => self.error(span, format!("cannot generate code for {what} yet")),
                        }
                    }
                }
                Step::Project(exprs) => columns = Some(exprs.iter().map(over).collect()),
                _ => break,
            }
        }
        quote! {
            #[allow(unused_variables)]
            fn #f(row: &#ts) -> bool {
                true #(&& #tests)*
            }
        }
    }

    /// The [`Prefix`] of task `task` run N-wide (routed by `exchange`), if its router
    /// runs steps.
    pub(super) fn prefix(&self, task: &Task, exchange: &Exchange) -> Option<Prefix> {
        let Input::Table(id) = task.input else { return None };
        let width = self.source_frame(&self.program.tables[id.0]).len();
        let marked = !exchange.sides.is_empty();
        let mut parts = Vec::new();
        let mut offset = 0;
        for (b, steps) in crate::parallel::router_prefix(task, &self.late_sinks, &exchange.sides) {
            let branch = &task.branches[b];
            let last = branch.steps[..steps].iter().rposition(|s| matches!(s, Step::Project(_)))?;
            let Step::Project(exprs) = &branch.steps[last] else { return None };
            let mut live = live_outputs(branch, width);
            live.truncate(steps);
            // The columns the projection computes, also those only a filter after it reads:
            // filters pass the row on as it is.
            let columns: Vec<_> = exprs.iter().zip(&live[last]).map(|(e, &r)| r.then(|| e.ty.clone())).collect();
            let part = Part { branch: b, steps, offset, marked, columns, live };
            offset += usize::from(marked) + part.columns.len();
            parts.push(part);
        }
        (!parts.is_empty()).then_some(Prefix { parts })
    }

    /// The Rust type of the rows a task's router sends its workers: the prefix's columns,
    /// or the table's row.
    pub(super) fn routed_type(&mut self, task: &Task, prefix: Option<&Prefix>) -> TokenStream {
        match prefix {
            Some(p) => {
                let columns: Vec<TokenStream> =
                    routed_columns(&p.parts).iter().map(|c| self.column_type(c.as_ref())).collect();
                quote!((#(Option<#columns>,)*))
            }
            None => {
                let Input::Table(id) = task.input else { unreachable!("a task run N-wide reads one table") };
                let ts = super::table_struct(&self.program.tables[id.0]);
                quote!(#ts)
            }
        }
    }

    /// The Rust type of a routed column (`()` for one no worker reads).
    fn column_type(&mut self, ty: Option<&crate::types::Type>) -> TokenStream {
        ty.map_or_else(|| quote!(()), |t| self.rows.rust(t, "value"))
    }

    /// `None` for each column (and marker) of `parts` in the routed row.
    fn nones(&mut self, parts: &[Part]) -> Vec<TokenStream> {
        (routed_columns(parts).iter())
            .map(|c| {
                let ty = self.column_type(c.as_ref());
                quote!(None::<#ty>)
            })
            .collect()
    }

    /// The router's code for part `part` of the prefix `p` of `task`'s rows (`row`, whose
    /// columns are `frame`): it sets `routed` to the routed row of a row that passes — the
    /// part's projected columns, after its marker, the other parts' columns `None`.
    fn prefix_code(&mut self, task: &Task, p: &Prefix, part: usize, frame: &[TokenStream]) -> TokenStream {
        let this = &p.parts[part];
        let mut head = task.branches[this.branch].clone();
        head.steps.truncate(this.steps);
        head.target = Target::Stage;
        let mut before = self.nones(&p.parts[..part]);
        if this.marked {
            before.push(quote!(Some(())));
        }
        let after = self.nones(&p.parts[part + 1..]);
        let saved = (
            std::mem::replace(&mut self.branches, vec![head]),
            std::mem::replace(&mut self.lives, vec![this.live.clone()]),
        );
        self.routing = Some((before, after));
        let code = self.flow(0, 0, frame.to_vec(), true);
        self.routing = None;
        (self.branches, self.lives) = saved;
        code
    }

    /// `fn route_<i>(row: &T) -> u64`: the hash of the route key of task `i`'s row (after
    /// its computed columns).
    pub(super) fn route_fn(&mut self, i: usize, task: &Task, exchange: &Exchange) -> (proc_macro2::Ident, TokenStream) {
        let Input::Table(id) = task.input else { unreachable!("checked by exchange_plan") };
        let f = format_ident!("route_{}", i);
        let span = task.branches.first().map(|b| b.span).unwrap_or_default();
        let def = self.route_fn_over(&f, id, &exchange.key, span);
        (f, def)
    }

    /// The function `f` hashing the route key `key` (expressions over table `id`'s row).
    pub(super) fn route_fn_over(
        &mut self,
        f: &proc_macro2::Ident,
        id: TableId,
        key: &[crate::hir::Expr],
        span: crate::span::Span,
    ) -> TokenStream {
        let t = &self.program.tables[id.0];
        let ts = super::table_struct(t);
        let frame = self.source_frame(t);
        let mut keys = Vec::new();
        for e in key {
            let mut g = ExprGen { rows: &mut self.rows, frame: &frame };
            match g.expr(e) {
                Ok(c) if matches!(e.ty.kind, crate::types::TypeKind::Float | crate::types::TypeKind::Double) => {
                    keys.push(quote!((#c).map(rt::agg::Ordered)))
                }
                Ok(c) => keys.push(c),
                Err(what) => self.error(span, format!("cannot generate code for {what} yet")),
            }
        }
        quote! {
            fn #f(row: &#ts) -> u64 {
                rt::exchange::hash_key(&(#(#keys,)*))
            }
        }
    }

    /// The router of task `i` (named `name`) reading table `task`'s source into `hub`
    /// (running `prefix` first, if any), routing as `routing` says.
    pub(super) fn router(
        &mut self,
        task: &Task,
        name: &str,
        hub: &proc_macro2::Ident,
        routing: &Routing,
        prefix: Option<&Prefix>,
    ) -> TokenStream {
        let Input::Table(id) = task.input else { unreachable!("checked by exchange_plan") };
        let t = &self.program.tables[id.0];
        let frame = self.source_frame(t);
        let computed = self.computed_columns(t, &frame);
        let (source, convert) = self.source(id);
        let table = &t.name;
        let watermark = match (&t.watermark, self.worker_event_time) {
            (Some(w), true) => match w.max_out_of_orderness_ms {
                Some(delay) => quote!(Some(rt::connectors::SourceWatermark::for_table(cx, #table, #delay)?)),
                None => quote!(None),
            },
            _ => quote!(None),
        };
        let event_time = match (&t.watermark, self.worker_event_time) {
            (Some(w), true) => {
                let place = &frame[w.column];
                quote!(#place.as_ref().map(|t| t.millis()))
            }
            _ => quote!(None),
        };
        // The row the workers take: the prefix's columns (if it passes), or the whole row.
        let routed = match (routing, prefix) {
            (Routing::Key(route), Some(p)) => {
                let code = self.prefix_code(task, p, 0, &frame);
                // Without a filter in the prefix, every row sets it.
                quote! {
                    #[allow(unused_assignments)]
                    let mut routed = None;
                    #code
                    let hash = if routed.is_some() { #route(&row) } else { 0 };
                    let also = None;
                }
            }
            (Routing::Key(route), None) => quote! {
                let hash = #route(&row);
                let also = None;
                let routed = Some(row);
            },
            // A join's sides, each run by the router: a side's columns to the worker of its
            // key, for each side the row feeds (none: dropped here).
            (Routing::Sides(sides), Some(p)) => {
                let names: Vec<_> = (0..sides.len()).map(|k| format_ident!("side_{}", k)).collect();
                let parts: Vec<TokenStream> = (sides.iter().zip(&names).enumerate())
                    .map(|(k, (s, name))| {
                        let code = self.prefix_code(task, p, k, &frame);
                        let hash = &s.hash;
                        quote! {
                            { #code }
                            let #name = routed.take().map(|r| (#hash(&row), r));
                        }
                    })
                    .collect();
                quote! {
                    #[allow(unused_assignments)]
                    let mut routed = None;
                    #(#parts)*
                    let mut sides = [#(#names),*].into_iter().flatten();
                    let (hash, routed) = sides.next().map_or((0, None), |(h, r)| (h, Some(r)));
                    let also = sides.next();
                }
            }
            // Without a prefix, the whole row to the worker of each side it feeds (once to a
            // worker of both), which runs the sides whose keys it owns.
            (Routing::Sides(sides), None) => {
                let keys = sides.iter().map(|s| {
                    let hash = &s.hash;
                    match &s.passes {
                        Some(passes) => quote!(#passes(&row).then(|| #hash(&row))),
                        None => quote!(Some(#hash(&row))),
                    }
                });
                quote! {
                    let mut keys = [#(#keys),*].into_iter().flatten();
                    let (hash, other) = (keys.next(), keys.next());
                    let worker = |h: u64| rt::exchange::worker_of(rt::exchange::key_group(h), parallelism);
                    let also = match (hash, other) {
                        (Some(h), Some(o)) if worker(h) != worker(o) => Some((o, row.clone())),
                        _ => None,
                    };
                    let routed = hash.is_some().then_some(row);
                    let hash = hash.unwrap_or_default();
                }
            }
        };
        // Its workers keep keyed state: the source commits its position only with
        // checkpoints, and reads its whole input.
        let commits = quote! {
            let source = rt::Source::with_keyed_state(source);
            let mut source = if task.enabled() { source } else { rt::Source::without_commits(source) };
        };
        quote! {
            {
                let hub = std::sync::Arc::clone(&#hub);
                Box::new(move |cx: &rt::Context| -> rt::Result<()> {
                    let mut task = rt::TaskCheckpoint::new(cx, #name)?;
                    if task.already_done() {
                        hub.close();
                        return Ok(());
                    }
                    let source = #source;
                    #commits
                    let mut wm: Option<rt::connectors::SourceWatermark> = #watermark;
                    if let Some(mut restored) = task.take_restored() {
                        rt::Source::restore(&mut source, restored.position())?;
                        rt::exchange::restore_watermark(&mut restored, wm.as_mut())?;
                        restored.done()?;
                    }
                    rt::exchange::route(cx, &mut task, source, &hub, wm, |row| {
                        let mut row = #convert;
                        #(#computed)*
                        let event_time = #event_time;
                        #routed
                        rt::exchange::Routed { row: routed, hash, also, event_time }
                    })?;
                    task.finish_if(hub.exhausted().load(std::sync::atomic::Ordering::Acquire));
                    Ok(())
                }) as rt::Task<'_>
            }
        }
    }

    /// Task `i` (named `name`) joining two tables, run N-wide by `exchange`: a router per
    /// table (`<name>.<table>`), each routing its table's rows by the hash of its side's
    /// join key, and N workers (the task's code) reading both routers' rows, barriers
    /// aligned across them. The task's code, and the names of its parts for checkpoints.
    pub(super) fn tables_wide(
        &mut self,
        i: usize,
        name: &str,
        task: &Task,
        exchange: &Exchange,
    ) -> (TokenStream, TokenStream) {
        let Input::Tables(a, b) = task.input else { unreachable!("called for a join of two tables") };
        let span = task.branches.first().map(|b| b.span).unwrap_or_default();
        let (mut defs, mut hubs, mut types, mut routers, mut router_names) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        // The worker first: it tells whether the routers keep the tables' watermarks.
        self.worker = true;
        self.route_positions = exchange.positions.clone();
        self.join_positions = exchange.joins.clone();
        let worker = self.task(task, name);
        self.worker = false;
        for (k, id) in [a, b].into_iter().enumerate() {
            let origin = if k == 0 { crate::plan::Origin::Input } else { crate::plan::Origin::Second };
            let key = (exchange.sides.iter())
                .find(|(branch, _)| task.branches[*branch].from == origin)
                .map(|(_, key)| key.clone())
                .unwrap_or_default();
            let route = format_ident!("route_{}_{}", i, k);
            defs.push(self.route_fn_over(&route, id, &key, span));
            let hub = format_ident!("hub_{}_{}", i, k);
            let table = &self.program.tables[id.0];
            let router_name = format!("{name}.{}", table.name);
            let one = Task { input: Input::Table(id), branches: task.branches.clone() };
            routers.push(self.router(&one, &router_name, &hub, &Routing::Key(route), None));
            types.push(super::table_struct(table));
            hubs.push(hub);
            router_names.push(router_name);
        }
        let (h0, h1) = (&hubs[0], &hubs[1]);
        let code = quote! {
            #(#defs)*
            #(let #hubs = rt::exchange::Hub::<#types>::new(parallelism);)*
            #(tasks.push(#routers);)*
            for index in 0..parallelism {
                let hubs = (&#h0, &#h1);
                tasks.push(#worker);
            }
        };
        let names = quote! {
            #(names.push(#router_names.to_string());)*
            names.extend((0..parallelism).map(|w| format!("{}#{w}", #name)));
        };
        (code, names)
    }

    /// Task `i` (named `name`) run in two stages: its router and N workers up to the
    /// window ending the first stage, whose output the second stage (`<name>.merge`, on
    /// one thread) continues from, as `dfl::stage` merges it from the workers.
    pub(super) fn staged(&mut self, i: usize, name: &str, stages: &crate::parallel::Stages) -> TokenStream {
        let (route, def) = self.route_fn(i, &stages.first, &stages.exchange);
        let hub = format_ident!("hub_{}", i);
        let stage = format_ident!("stage_{}", i);
        let prefix = self.prefix(&stages.first, &stages.exchange);
        let first = prefix.as_ref().map_or_else(|| stages.first.clone(), |p| p.worker_task(&stages.first));
        (self.worker, self.stage) = (true, super::Stage::First);
        self.route_positions = stages.exchange.positions.clone();
        let worker = self.task(&first, name);
        // The router keeps the watermark when the workers need it, whatever the second
        // stage needs (generating it sets the flag anew).
        let worker_event_time = self.worker_event_time;
        (self.worker, self.stage) = (false, super::Stage::Second);
        let merge_name = format!("{name}.merge");
        let merge = self.task(&stages.rest, &merge_name);
        self.stage = super::Stage::None;
        self.worker_event_time = worker_event_time;
        let router = self.router(&stages.first, name, &hub, &Routing::Key(route), prefix.as_ref());
        let ts = self.routed_type(&stages.first, prefix.as_ref());
        let Input::Stage(types) = &stages.rest.input else { unreachable!("made by stage_plan") };
        let columns: Vec<TokenStream> = types.iter().map(|t| self.rows.rust(t, "value")).collect();
        quote! {
            #def
            let #hub = rt::exchange::Hub::<#ts>::new(parallelism);
            let #stage = rt::stage::Stage::<(#(Option<#columns>,)*)>::new(parallelism);
            #stage.meter(cx, #merge_name);
            tasks.push(#router);
            for index in 0..parallelism {
                let (hub, stage) = (&#hub, &#stage);
                tasks.push(#worker);
            }
            {
                let (hub, stage) = (&#hub, &#stage);
                tasks.push(#merge);
            }
        }
    }

    /// Task `name` keeping its state per Kafka partition in two stages
    /// (`dfl::connectors::kafka::staged`): an instance per partition (of its table's topic,
    /// or of its shuffle topic when `shuffled`) up to the window, writing the window's rows
    /// to the stage topic; the rest (the task `<name>.merge`, whose name is returned too)
    /// an instance per partition of the stage topic.
    pub(super) fn partition_staged(
        &mut self,
        name: &str,
        stages: &crate::parallel::Stages,
        shuffled: bool,
    ) -> (TokenStream, String) {
        let merge_name = format!("{name}.merge");
        let (Input::Table(id), Input::Stage(types)) = (&stages.first.input, &stages.rest.input) else {
            unreachable!("made by stage_plan")
        };
        // Its rows are tuples with serde's traits, which tuples have up to 16 columns.
        if types.len() > 16 {
            let span = stages.first.branches.first().map(|b| b.span).unwrap_or_default();
            self.error(
                span,
                format!(
                    "the window ending the first stage of task `{name}` gives {} columns: a task keeping its state \
                     per Kafka partition in two stages passes at most 16 between them",
                    types.len()
                ),
            );
            return (quote!(), merge_name);
        }
        let table = self.program.tables[id.0].name.clone();
        let columns: Vec<TokenStream> = types.iter().map(|t| self.rows.rust(t, "value")).collect();
        let row = quote!((#(Option<#columns>,)*));
        self.partition_stage = Some((table.clone(), name.to_string(), row.clone()));
        (self.instance, self.shuffled, self.stage) = (true, shuffled, super::Stage::First);
        let first = self.task(&stages.first, name);
        (self.shuffled, self.stage) = (false, super::Stage::Second);
        self.instance_source = Some(quote!(rt::connectors::kafka::staged::source::<#row>(cx.table(#table)?, #name)?));
        let second = self.task(&stages.rest, &merge_name);
        (self.instance, self.stage, self.partition_stage) = (false, super::Stage::None, None);
        (quote!(tasks.push(#first); tasks.push(#second);), merge_name)
    }

    /// The writers of task `i`'s shuffle topic (the task named `name` is repartitioned,
    /// `'scale-out.mode'`): one per table it reads, each routing its table's rows by the
    /// task's key (a join's by the join key); `None` for a task without one (its error is
    /// reported where its plan is read).
    pub(super) fn shuffle_writers(&mut self, pipeline: &Pipeline, i: usize, name: &str) -> Option<ShuffleWriters> {
        let task = &pipeline.tasks[i];
        let span = task.branches.first().map(|b| b.span).unwrap_or_default();
        let routes: Vec<(TableId, Vec<crate::hir::Expr>)> = match task.input {
            Input::Table(id) => vec![(id, crate::parallel::partition_exchange(self.program, task).ok()?.key)],
            Input::Tables(a, b) => {
                let [ka, kb] = crate::parallel::join_routes(self.program, pipeline, task).ok()?;
                vec![(a, ka), (b, kb)]
            }
            Input::Values(_) | Input::Stage(_) => return None,
        };
        let first = self.program.tables[routes[0].0.0].name.clone();
        let joined = routes.len() > 1;
        let mut out = ShuffleWriters::default();
        for (side, (id, key)) in (0u8..).zip(&routes) {
            let (f, writer) = match joined {
                true => (
                    format_ident!("route_{}_{}", i, side),
                    format!("{name}.repartition.{}", self.program.tables[id.0].name),
                ),
                false => (format_ident!("route_{}", i), format!("{name}.repartition")),
            };
            out.defs.push(self.route_fn_over(&f, *id, key, span));
            out.tasks.push(self.shuffle_writer((*id, side), &first, &writer, name, &f));
            out.names.push(writer);
        }
        Some(out)
    }

    /// The writer of table `id`'s records (its `side`: 0, or 1 for the second table of a
    /// join) to the shuffle topic of task `task_name` (named after its first table,
    /// `first`), which repartitions them by the hash `route` gives, as task `writer` (see
    /// `dfl::connectors::kafka::shuffle`): the table's records with the table's watermark.
    pub(super) fn shuffle_writer(
        &mut self,
        (id, side): (TableId, u8),
        first: &str,
        writer: &str,
        task_name: &str,
        route: &proc_macro2::Ident,
    ) -> TokenStream {
        let t = &self.program.tables[id.0];
        let frame = self.source_frame(t);
        let computed = self.computed_columns(t, &frame);
        let (_, convert) = self.source(id);
        let (validate, _) = self.kafka_conversion(t);
        let ts = super::table_struct(t);
        let cols = super::columns_ident(t);
        let table = &t.name;
        let key = super::sources::changelog_key(t);
        let source =
            quote!(rt::connectors::kafka::shuffle::writer_source::<#ts>(cx.table(#table)?, &#cols, #key, #validate)?);
        let (delay, event_time) = match &t.watermark {
            Some(w) if w.max_out_of_orderness_ms.is_some() => {
                let delay = w.max_out_of_orderness_ms.unwrap_or_default();
                let place = &frame[w.column];
                (quote!(Some(#delay)), quote!(#place.as_ref().map(|t| t.millis())))
            }
            _ => (quote!(None), quote!(None)),
        };
        quote! {
            Box::new(move |cx: &rt::Context| -> rt::Result<()> {
                let source = #source;
                let opts = cx.table(#table)?.clone();
                let stage = rt::connectors::kafka::shuffle::Stage { task: #task_name, first: cx.table(#first)?, side: #side };
                rt::connectors::kafka::shuffle::write(cx, #writer, stage, source, &opts, #delay, |record| {
                    let row = record.without_bytes();
                    let mut row = #convert;
                    #(#computed)*
                    Ok((#route(&row), #event_time))
                })
            })
        }
    }
}
