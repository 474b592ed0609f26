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
/// ([`crate::parallel::router_steps`]): the workers then take a few projected columns
/// rather than the source's whole row (often hundreds of bytes, copied twice), and no row
/// filtered out.
pub(super) struct Prefix {
    /// The input branch, and how many of its steps the router runs.
    branch: usize,
    steps: usize,
    /// The columns the workers take: their types, `None` for those no later step reads
    /// (sent as `None::<()>`).
    columns: Vec<Option<crate::types::Type>>,
    /// Per step of the prefix, which of its output columns are read later.
    live: Vec<Vec<bool>>,
}

impl Prefix {
    /// Task `task` as its workers run it: reading the projected columns (an
    /// [`Input::Stage`]), the router's steps left as filters letting every row through
    /// (each step keeps its place, its operator ids and metrics with it).
    pub(super) fn worker_task(&self, task: &Task) -> Task {
        let mut worker = task.clone();
        let boolean = crate::types::Type::boolean;
        worker.input = Input::Stage(self.columns.iter().map(|c| c.clone().unwrap_or_else(boolean)).collect());
        let pass =
            crate::hir::Expr { kind: crate::hir::ExprKind::Literal(crate::hir::Value::Boolean(true)), ty: boolean() };
        for step in &mut worker.branches[self.branch].steps[..self.steps] {
            *step = Step::Filter(pass.clone());
        }
        worker
    }
}

/// How a task's router picks the worker of each row.
pub(super) enum Routing {
    /// By the hash of the route key, which `route_<i>(row)` gives.
    Key(proc_macro2::Ident),
    /// A join of two branches of the table, each side by its own key: per branch feeding
    /// the join, the function hashing its key and the function telling whether a row
    /// passes the filters the branch starts with (it feeds that side).
    Sides(Vec<Side>),
}

pub(super) struct Side {
    branch: usize,
    hash: proc_macro2::Ident,
    passes: proc_macro2::Ident,
}

impl Routing {
    /// What a worker checks before running a branch feeding the join: (branch, the
    /// function hashing its key).
    pub(super) fn gates(&self) -> Vec<(usize, proc_macro2::Ident)> {
        match self {
            Routing::Key(_) => Vec::new(),
            Routing::Sides(sides) => sides.iter().map(|s| (s.branch, s.hash.clone())).collect(),
        }
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
    pub(super) fn routing(&mut self, i: usize, task: &Task, exchange: &Exchange) -> (Routing, TokenStream) {
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
            defs.push(self.passes_fn(&passes, id, &branch.steps, branch.span));
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

    /// The [`Prefix`] of task `task` run N-wide, if its router runs steps.
    pub(super) fn prefix(&self, task: &Task) -> Option<Prefix> {
        let (b, steps) = crate::parallel::router_steps(task, &self.late_sinks)?;
        let Input::Table(id) = task.input else { return None };
        let branch = &task.branches[b];
        let last = branch.steps[..steps].iter().rposition(|s| matches!(s, Step::Project(_)))?;
        let Step::Project(exprs) = &branch.steps[last] else { return None };
        let width = self.source_frame(&self.program.tables[id.0]).len();
        let mut live = live_outputs(branch, width);
        live.truncate(steps);
        // The columns the projection computes, also those only a filter after it reads:
        // filters pass the row on as it is.
        let columns = exprs.iter().zip(&live[last]).map(|(e, &r)| r.then(|| e.ty.clone())).collect();
        Some(Prefix { branch: b, steps, columns, live })
    }

    /// The Rust type of the rows a task's router sends its workers: the prefix's columns,
    /// or the table's row.
    pub(super) fn routed_type(&mut self, task: &Task, prefix: Option<&Prefix>) -> TokenStream {
        match prefix {
            Some(p) => {
                let columns: Vec<TokenStream> = p
                    .columns
                    .iter()
                    .map(|c| c.as_ref().map_or_else(|| quote!(()), |t| self.rows.rust(t, "value")))
                    .collect();
                quote!((#(Option<#columns>,)*))
            }
            None => {
                let Input::Table(id) = task.input else { unreachable!("a task run N-wide reads one table") };
                let ts = super::table_struct(&self.program.tables[id.0]);
                quote!(#ts)
            }
        }
    }

    /// The router's code for the prefix `p` of `task`'s rows (`row`, whose columns are
    /// `frame`): it sets `routed` to the projected columns of a row that passes.
    fn prefix_code(&mut self, task: &Task, p: &Prefix, frame: &[TokenStream]) -> TokenStream {
        let mut head = task.branches[p.branch].clone();
        head.steps.truncate(p.steps);
        head.target = Target::Stage;
        let saved = (
            std::mem::replace(&mut self.branches, vec![head]),
            std::mem::replace(&mut self.lives, vec![p.live.clone()]),
        );
        self.routing = true;
        let code = self.flow(0, 0, frame.to_vec(), true);
        self.routing = false;
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
                let code = self.prefix_code(task, p, &frame);
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
            // A join's sides: the worker of each side the row feeds (none: dropped here).
            // The router runs no prefix then (two branches read the input).
            (Routing::Sides(sides), _) => {
                let keys = sides.iter().map(|s| {
                    let (hash, passes) = (&s.hash, &s.passes);
                    quote!(#passes(&row).then(|| #hash(&row)))
                });
                quote! {
                    let mut keys = [#(#keys),*].into_iter().flatten();
                    let (hash, also) = (keys.next(), keys.next());
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

    /// Task `i` (named `name`) run in two stages: its router and N workers up to the
    /// window ending the first stage, whose output the second stage (`<name>.merge`, on
    /// one thread) continues from, as `dfl::stage` merges it from the workers.
    pub(super) fn staged(&mut self, i: usize, name: &str, stages: &crate::parallel::Stages) -> TokenStream {
        let (route, def) = self.route_fn(i, &stages.first, &stages.exchange);
        let hub = format_ident!("hub_{}", i);
        let stage = format_ident!("stage_{}", i);
        let prefix = self.prefix(&stages.first);
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

    /// The writers of task `i`'s shuffle topic (the task named `name` is repartitioned,
    /// `'scale-out.mode'`): one per table it reads, each routing its table's rows by the
    /// task's key (a join's by the join key); `None` for a task without one (its error is
    /// reported where its plan is read).
    pub(super) fn shuffle_writers(&mut self, pipeline: &Pipeline, i: usize, name: &str) -> Option<ShuffleWriters> {
        let task = &pipeline.tasks[i];
        let span = task.branches.first().map(|b| b.span).unwrap_or_default();
        let routes: Vec<(TableId, Vec<crate::hir::Expr>)> = match task.input {
            Input::Table(id) => vec![(id, crate::parallel::exchange_plan(self.program, task).ok()?.key)],
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
