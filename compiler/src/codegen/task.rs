//! One source task: its sink writers, operators and source, and the closure that handles
//! each source event — rows through the branches, barriers into checkpoints, the watermark
//! moved — and after each event runs the operators that fire or join (in
//! [`fire_order`](super::flow::fire_order)); called once more at the end of the input
//! (`None`) with the watermark at its maximum, so that the open windows fire.

use super::flow::fire_order;
use super::{Gen, Stage, Stateful, fingerprint, live_outputs, output_width};
use crate::hir::Program;
use crate::plan::{Branch, Input, Origin, Step, Target};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

impl Gen<'_> {
    /// One source task: the source, and every branch fused into its event closure.
    pub(super) fn task(&mut self, task: &crate::plan::Task, name: &str) -> TokenStream {
        let program: &Program = self.program;
        // Whether each input's rows are changes (an upsert table read as a changelog).
        let changelog = |id: crate::hir::TableId| program.tables[id.0].is_changelog_source();
        (self.updating, self.updating_second) = match task.input {
            Input::Table(id) => (changelog(id), false),
            Input::Tables(a, b) => (changelog(a), changelog(b)),
            Input::Values(_) | Input::Stage(_) => (false, false),
        };
        self.stateful = Stateful::default();
        self.branches = task.branches.clone();
        self.source = match task.input {
            Input::Table(id) | Input::Tables(id, _) => Some(id),
            Input::Values(_) | Input::Stage(_) => None,
        };
        let writers: Vec<TokenStream> = (0..task.branches.len())
            .filter_map(|b| {
                let w = format_ident!("out_{}", b);
                let s = format_ident!("sink_{}", task.branches[b].sink()?.0);
                let writer = if self.branch_updates(b) { quote!(change_writer) } else { quote!(writer) };
                let timed = self.event_time_reader(b);
                Some(quote!(let mut #w = #s.#writer(cx)#timed;))
            })
            .collect();
        let mut sinks = Vec::new();
        for t in task.branches.iter().filter_map(Branch::sink) {
            if !sinks.contains(&t) {
                sinks.push(t);
            }
        }
        let sink_clones = sinks.iter().map(|t| {
            let s = format_ident!("sink_{}", t.0);
            quote!(let #s = #s.clone();)
        });
        let mut syncs: Vec<TokenStream> = sinks
            .iter()
            .map(|t| {
                let s = format_ident!("sink_{}", t.0);
                quote!(#s.sync()?;)
            })
            .collect();
        let flushes: Vec<TokenStream> = (0..task.branches.len())
            .filter(|&b| task.branches[b].sink().is_some())
            .map(|b| {
                let w = format_ident!("out_{}", b);
                quote!(#w.flush()?;)
            })
            .collect();
        // At a source's barrier: every row before it written out and made durable (by the
        // checkpoint, or by syncing the sinks).
        let mut barrier = flushes.clone();
        if self.stage == Stage::First {
            // The second stage's barrier after the window's rows before it.
            barrier.push(quote!(stage_out.barrier(&barrier)?;));
        }
        let windowed = task.branches.iter().any(|b| b.steps.iter().any(|s| matches!(s, Step::WindowAggregate(_))));
        // The task's joins: declared once, before its branches use them.
        let mut declared = Vec::new();
        for b in &task.branches {
            if let Target::Join { join, .. } = b.target
                && !declared.contains(&join)
            {
                declared.push(join);
                self.join_setup(join, b);
            }
        }
        self.late_sink =
            self.source.and_then(|s| self.late_sinks.iter().find(|(src, _)| *src == s)).map(|(_, late)| *late);
        let late = self.late_sink.filter(|_| windowed || !self.joins.is_empty()).map(|id| {
            let s = format_ident!("sink_{}", id.0);
            (quote!(let #s = #s.clone();), quote!(let mut out_late = #s.writer(cx);), quote!(out_late.flush()?;))
        });
        let (late_clone, late_writer, late_flush) = late.unwrap_or_default();
        // While the source waits: batched rows handed to their sinks, which send what is due.
        let idle: Vec<TokenStream> = (0..task.branches.len())
            .filter(|&b| task.branches[b].sink().is_some())
            .map(|b| {
                let w = format_ident!("out_{}", b);
                quote!(#w.idle()?;)
            })
            .chain(std::iter::once(late_flush.clone()))
            .chain((self.stage == Stage::First).then(|| quote!(stage_out.idle()?;)))
            .collect();
        if let Some(id) = self.late_sink.filter(|_| !late_writer.is_empty()) {
            let s = format_ident!("sink_{}", id.0);
            barrier.push(quote!(out_late.flush()?;));
            syncs.push(quote!(#s.sync()?;));
        }
        let body = match &task.input {
            Input::Table(id) => self.table_task(Some(*id), task, &barrier, &syncs, &idle),
            Input::Stage(_) => self.table_task(None, task, &barrier, &syncs, &idle),
            Input::Tables(a, b) => self.tables_task([*a, *b], &barrier, &syncs, &idle),
            Input::Values(rows) => self.values_task(rows, task),
        };
        // The second stage of a task kept per partition ends as an instance does.
        let merged_here = self.stage == Stage::Second && !self.instance;
        let finish = if self.worker || merged_here {
            quote!(task.finish_if(exhausted.load(std::sync::atomic::Ordering::Acquire));)
        } else {
            quote!(task.finish();)
        };
        // A first-stage worker that ended (exhausted or stopped, not failed) tells the second.
        let stage_end = match self.stage {
            // Its partition marked as ended when its input was (not when taken away).
            Stage::First if self.instance => quote!(stage_out.end(task.input_ended())?;),
            Stage::First => quote!(stage_out.end()?;),
            _ => quote!(),
        };
        // Restored finished, the second stage may have returned already: nothing to tell.
        let stage_done = match self.stage {
            Stage::First => quote!(let _ = stage_out.end();),
            _ => quote!(),
        };
        // A worker of a task run N-wide takes its name (`clicks#2`) and input at run time.
        // The second stage of a task run in two stages reads what its workers send.
        let (name_expr, input) = match (self.worker, self.stage) {
            // A worker of a join of two tables reads both tables' routers.
            (true, _) if matches!(task.input, Input::Tables(..)) => (
                quote!(&name),
                quote! {
                    let input = (hubs.0.input(index)?, hubs.1.input(index)?);
                    let exhausted = rt::exchange::AllExhausted([hubs.0.exhausted(), hubs.1.exhausted()]);
                    let name = format!("{}#{index}", #name);
                },
            ),
            (true, stage) => {
                let writer = (stage == Stage::First).then(|| quote!(let mut stage_out = stage.writer(index)?;));
                (
                    quote!(&name),
                    quote! {
                        let input = hub.input(index)?;
                        let exhausted = hub.exhausted();
                        let name = format!("{}#{index}", #name);
                        #writer
                    },
                )
            }
            (false, Stage::Second) => (
                quote!(#name),
                quote! {
                    let input = stage.input()?;
                    let exhausted = hub.exhausted();
                },
            ),
            (false, _) => (quote!(#name), quote!()),
        };
        // The task's run, once its checkpoint handle is open: writers, events, last flushes.
        let run = quote! {
            #(#writers)*
            #late_writer
            #body
            #(#flushes)*
            #late_flush
            #stage_end
            #finish
            Ok(())
        };
        if self.instance {
            // The task's code runs per Kafka partition, on records the task's thread reads.
            let source = self.instance_source.take().unwrap_or_default();
            // A repartitioned task's instance reads its shuffle partition's records once
            // each, its watermark from the writers' marks (of each table with a WATERMARK).
            // The first stage's instance writes its window's rows to the stage topic.
            let stage_out = match (&self.partition_stage, self.stage) {
                (Some((table, task_name, row)), Stage::First) => quote! {
                    let mut stage_out = rt::connectors::kafka::staged::writer::<#row>(
                        cx, cx.table(#table)?, #task_name, input.topic(), input.partition(),
                    )?;
                },
                _ => quote!(),
            };
            let (ts, input) = match task.input {
                Input::Stage(_) => {
                    let row = self.partition_stage.as_ref().map(|(_, _, row)| row.clone()).unwrap_or_default();
                    (
                        quote!(rt::connectors::kafka::staged::Staged<#row>),
                        quote!(let input = rt::connectors::kafka::staged::StageInput::new(input);),
                    )
                }
                Input::Table(id) => {
                    let ts = super::table_struct(&self.program.tables[id.0]);
                    match self.shuffled {
                        true => {
                            (quote!(#ts), quote!(let input = rt::connectors::kafka::shuffle::Shuffled::new(input);))
                        }
                        false => (quote!(#ts), quote!()),
                    }
                }
                Input::Tables(a, b) if self.shuffled => {
                    let tables = [&self.program.tables[a.0], &self.program.tables[b.0]];
                    let [ta, tb] = tables.map(super::table_struct);
                    let holding =
                        tables.map(|t| t.watermark.as_ref().is_some_and(|w| w.max_out_of_orderness_ms.is_some()));
                    (
                        quote!(rt::connectors::kafka::shuffle::Pair<#ta, #tb>),
                        quote!(let input = rt::connectors::kafka::shuffle::Shuffled::of_tables(input, &[#(#holding),*]);),
                    )
                }
                _ => {
                    let span = task.branches.first().map(|b| b.span).unwrap_or_default();
                    self.error(span, "state per Kafka partition for a task reading constant rows".into());
                    return quote!();
                }
            };
            return quote! {
                {
                    #(#sink_clones)*
                    #late_clone
                    let instance = rt::connectors::kafka::partitioned::instance(
                        move |cx: &rt::Context, mut input: rt::connectors::kafka::partitioned::Partition<#ts>| -> rt::Result<()> {
                            let mut task = input.task(cx)?;
                            #stage_out
                            #input
                            #run
                        },
                    );
                    Box::new(move |cx: &rt::Context| -> rt::Result<()> {
                        let source = #source;
                        rt::connectors::kafka::partitioned::run(cx, #name, source, &instance)
                    }) as rt::Task<'_>
                }
            };
        }
        quote! {
            {
                #(#sink_clones)*
                #late_clone
                #input
                Box::new(move |cx: &rt::Context| -> rt::Result<()> {
                    let mut task = rt::TaskCheckpoint::new(cx, #name_expr)?;
                    if task.already_done() {
                        // Its input had ended before the checkpoint restored.
                        #stage_done
                        return Ok(());
                    }
                    #run
                })
            }
        }
    }

    /// Per branch, which output columns of each step are read later (`widths`: the width
    /// of the task's rows, of its first and second input).
    pub(super) fn plan_liveness(&mut self, widths: [usize; 2]) {
        self.lives = (0..self.branches.len())
            .map(|b| {
                let branch = &self.branches[b];
                let width = match branch.from {
                    Origin::Join(j) => self.joins[j].left.len() + self.joins[j].right.len(),
                    Origin::Window { branch: w, step } => output_width(&self.branches[w].steps[step]),
                    // A join side's worker branch reads its own columns of the routed row.
                    Origin::Input => match self.side_inputs.iter().find(|s| s.branch == b) {
                        Some(super::exchange::SideInput { frame: Some(frame), .. }) => frame.len(),
                        _ => widths[0],
                    },
                    Origin::Second => widths[1],
                };
                live_outputs(branch, width)
            })
            .collect();
    }

    /// The row path of every branch reading the task's input, then the operators that run
    /// after each event, in order; and whether any of them needs the watermark (`limit`).
    fn row_and_after(&mut self, frame: &[TokenStream]) -> (Vec<TokenStream>, Vec<TokenStream>, bool) {
        self.plan_liveness([frame.len(), 0]);
        let rows = self.rows_from(Origin::Input, frame);
        let (after, timed) = self.fired();
        (rows, after, timed)
    }

    /// The row path of the branches whose rows come from `origin` (an input of the task),
    /// over its row's columns `frame`.
    pub(super) fn rows_from(&mut self, origin: Origin, frame: &[TokenStream]) -> Vec<TokenStream> {
        let inputs: Vec<usize> = (0..self.branches.len()).filter(|&b| self.branches[b].from == origin).collect();
        inputs
            .into_iter()
            .map(|b| {
                // A worker runs a join side's branch for the rows it is sent for that side
                // (the router sends a row to the worker of each side it feeds).
                let side = self.side_inputs.iter().find(|s| s.branch == b).filter(|_| origin == Origin::Input);
                let (gate, columns) = match side {
                    Some(s) => (Some(s.gate.clone()), s.frame.clone().unwrap_or_else(|| frame.to_vec())),
                    None => (None, frame.to_vec()),
                };
                let flow = self.flow(b, 0, columns, true);
                match gate {
                    Some(gate) => quote! {
                        if #gate {
                            #flow
                        }
                    },
                    None => flow,
                }
            })
            .collect()
    }

    /// The operators that run after each event, in order (each in a block of its own), and
    /// whether any of them needs the watermark (`limit`).
    pub(super) fn fired(&mut self) -> (Vec<TokenStream>, bool) {
        let order = fire_order(&self.branches, &self.batched);
        let closing = std::mem::take(&mut self.closing);
        let timed = !closing.is_empty()
            || order.iter().any(|n| match n {
                super::flow::Node::Window { .. } => true,
                super::flow::Node::Join(j) => {
                    let join = &self.joins[*j];
                    join.left_window.is_some() || join.interval.is_some() || join.versioned.is_some()
                }
                super::flow::Node::Input | super::flow::Node::Lookup { .. } => false,
            });
        let after = closing
            .into_iter()
            .map(|c| quote!({ #c }))
            .chain(order.into_iter().map(|n| {
                let fired = self.fire(n);
                quote!({ #fired })
            }))
            .collect();
        (after, timed)
    }

    /// A task reading a table: the source's events handled by one closure.
    fn table_task(
        &mut self,
        id: Option<crate::hir::TableId>,
        task: &crate::plan::Task,
        barrier: &[TokenStream],
        syncs: &[TokenStream],
        idle: &[TokenStream],
    ) -> TokenStream {
        let program = self.program;
        let t = id.map(|id| &program.tables[id.0]);
        // The second stage of a task run in two stages reads the first stage's rows
        // (tuples); its watermark is the workers' (`upstream`), as a worker's is its router's.
        let upstream = self.worker || self.shuffled || self.stage == Stage::Second;
        let frame: Vec<TokenStream> = match (t, &task.input) {
            (Some(t), _) => self.source_frame(t),
            (None, Input::Stage(types)) => (0..types.len())
                .map(|i| {
                    let i = syn::Index::from(i);
                    quote!(row.#i)
                })
                .collect(),
            (None, _) => Vec::new(),
        };
        let span = t.map(|t| t.span).or_else(|| task.branches.first().map(|b| b.span)).unwrap_or_default();
        // A worker's rows come from its router, computed columns computed.
        let computed = match t {
            Some(t) if !self.worker => self.computed_columns(t, &frame),
            _ => Vec::new(),
        };
        // Redis lookups fetch the keys of queued rows in batches.
        (self.batch_lookups, self.batched, self.lookup_fires) = (true, Vec::new(), Vec::new());
        let (rows, after, timed) = self.row_and_after(&frame);
        self.batch_lookups = false;
        // Queued lookup rows are joined before a barrier, so that what follows from them is
        // in the checkpoint (or written before the source commits).
        let before_barrier = if self.batched.is_empty() {
            quote!()
        } else {
            let limit = if timed { quote!(let limit = if end { i64::MAX } else { wm.current() };) } else { quote!() };
            quote! {
                {
                    let flush_all = true;
                    #limit
                    #(#after)*
                }
            }
        };
        self.batched.clear();
        self.lookup_fires.clear();
        let (source, convert) = match id {
            Some(id) if !self.worker => self.source(id),
            _ => (quote!(input), quote!(row)),
        };
        let source = if self.instance {
            // (A second stage's source is set before: the stage topic.)
            self.instance_source.get_or_insert(source);
            quote!(input)
        } else {
            source
        };
        let Stateful { mut setup, operators, keeps } = std::mem::take(&mut self.stateful);
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
        let watermark = if !timed {
            None
        } else if !proctime.is_empty() && proctime.iter().all(|p| *p) {
            // Processing time: the clock, read at every row and while the source waits,
            // less a millisecond: a window fires only once the clock has left its last
            // millisecond, so a row read in that millisecond (many at a million rows a
            // second) still finds its window open.
            let tick = quote!(if let Some(now) = rt::ops::now() {
                wm.observe(now.millis());
            });
            Some((quote!(let mut wm = rt::time::BoundedOutOfOrderness::sql(1);), tick.clone(), tick))
        } else if proctime.iter().any(|p| *p) {
            self.error(
                span,
                "windows of event time and of processing time over one table cannot be compiled together yet".into(),
            );
            None
        } else if let Some(t) = t {
            self.watermark(t, &frame)
        } else {
            Some(Default::default())
        };
        let event_time = timed && !proctime.iter().any(|p| *p);
        // A worker follows its router's watermark.
        self.worker_event_time = event_time && watermark.is_some();
        let watermark = match watermark {
            Some(_) if upstream && event_time => Some((
                quote!(let mut wm = rt::exchange::UpstreamWatermark::new();),
                quote!(),
                quote!(wm.on_event(&event);),
            )),
            other => other,
        };
        // Checkpoints: the operators (and an event-time watermark) saved at each barrier
        // and restored at start, each under its id and fingerprint.
        let mut saved: Vec<(String, String, proc_macro2::Ident)> = Vec::new();
        if event_time && watermark.is_some() {
            let kind = if upstream { "upstream-watermark" } else { "source-watermark" };
            saved.push(("watermark".into(), fingerprint(kind), format_ident!("wm")));
        }
        let (wm_setup, wm_row, wm_event) = watermark.unwrap_or_default();
        let mut open_state = quote!();
        let on_row = if let (true, Some(t)) = (self.updating, t) {
            saved.push(("upsert".into(), self.upsert_fingerprint(t), format_ident!("normalize")));
            // Each change an upsert record makes to the latest row of its key runs the
            // branches.
            let (key_setup, key) = self.upsert_key(t);
            let backend_ty = self.backend_type();
            if setup.is_empty() {
                open_state = self.backend_open();
            }
            setup.push(quote! {
                let mut normalize: rt::UpsertNormalize<_, _, #backend_ty> =
                    rt::UpsertNormalize::in_backend(&mut state, "upsert")
                        .with_ttl(cx.state_ttl_ms()?, rt::time::epoch_ms);
            });
            quote! {
                let tombstone = row.tombstone;
                let mut row = #convert;
                #(#computed)*
                #key_setup
                normalize.apply(#key, (!tombstone).then_some(row), |kind, row| -> rt::Result<()> {
                    #(#rows)*
                    Ok(())
                })?;
            }
        } else {
            quote! {
                let mut row = #convert;
                #(#computed)*
                #wm_row
                let kind = rt::RowKind::Insert;
                #(#rows)*
            }
        };
        for (op, fp) in operators {
            saved.push((op.to_string(), fp, op));
        }
        let (restores, on_barrier) = checkpoint_code(&saved, barrier, syncs);
        let rescale = if self.worker && !saved.is_empty() { rescale_code(&saved, &keeps) } else { quote!() };
        let stateful = !saved.is_empty();
        // A task keeping state commits its source's position only with checkpoints
        // (without them a restart reads the input again).
        let commits = if stateful {
            quote! {
                let source = rt::Source::with_keyed_state(source);
                let source = if task.enabled() { source } else { rt::Source::without_commits(source) };
            }
        } else {
            quote!()
        };
        // A worker's watermark events come between rows, as the watermark moves with rows
        // at parallelism 1: queued lookups wait for the batch as they would there.
        let rows_pattern = if upstream {
            quote!(rt::connectors::SourceEvent::Row(..) | rt::connectors::SourceEvent::Watermark(..))
        } else {
            quote!(rt::connectors::SourceEvent::Row(..))
        };
        // A worker's input ended as its router says (exhausted, or stopped).
        let input_ended = if self.worker || (self.stage == Stage::Second && !self.instance) {
            quote!(task.input_ended_if(exhausted.load(std::sync::atomic::Ordering::Acquire)))
        } else {
            quote!(task.input_ended())
        };
        // The operators that fire run against the watermark, or everything at the end.
        let limit = if timed { quote!(let limit = if end { i64::MAX } else { wm.current() };) } else { quote!() };
        // A first-stage worker's watermark goes on to the second stage after its windows fired.
        let forward = match (self.stage, timed) {
            (Stage::First, true) => quote!(stage_out.watermark(wm.current())?;),
            _ => quote!(),
        };
        quote! {
            #wm_setup
            #open_state
            #(#setup)*
            let mut source = #source;
            if let Some(mut restored) = task.take_restored() {
                rt::Source::restore(&mut source, restored.position())?;
                #(#restores)*
                restored.done()?;
            } #rescale
            #commits
            // Set once the input has ended: the handler then runs once more, firing what
            // is still open (not when stopped with a checkpoint: the state is in it).
            let ended = std::cell::Cell::new(false);
            rt::connectors::run_to_end(source, cx, &ended, |event| -> rt::Result<()> {
                let end = ended.get();
                if end && !#input_ended {
                    return Ok(());
                }
                // Queued rows (batched lookups) go on at any event but a row.
                let flush_all = !matches!(event, #rows_pattern);
                match event {
                    rt::connectors::SourceEvent::Row(split, row) => {
                        #on_row
                    }
                    rt::connectors::SourceEvent::Barrier(barrier) => {
                        #before_barrier
                        #on_barrier
                    }
                    event => {
                        if let rt::connectors::SourceEvent::Idle = event {
                            #(#idle)*
                        }
                        #wm_event
                    }
                }
                #limit
                #(#after)*
                #forward
                Ok(())
            })?;
        }
    }

    /// A task of constant rows: each row through the branches, then everything fired.
    fn values_task(&mut self, rows: &[Vec<crate::hir::Expr>], task: &crate::plan::Task) -> TokenStream {
        let mut per_row = Vec::new();
        let mut after = Vec::new();
        // The joins' declarations; the operators are declared with the first row's code.
        let mut declared = std::mem::take(&mut self.stateful);
        for (r, row) in rows.iter().enumerate() {
            let mut frame = Vec::new();
            let mut failures = Vec::new();
            {
                let mut g = super::expr::ExprGen { rows: &mut self.rows, frame: &[] };
                for (i, e) in row.iter().enumerate() {
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
            let (branches, fired, _) = self.row_and_after(&frame);
            let operators = std::mem::take(&mut self.stateful);
            if r == 0 {
                declared.setup.extend(operators.setup);
                after = fired;
            }
            per_row.push(quote!({
                let kind = rt::RowKind::Insert;
                #(#branches)*
            }));
        }
        let mut setup = declared.setup;
        if !setup.is_empty() {
            setup.insert(0, self.backend_open());
        }
        quote! {
            #(#setup)*
            #(#per_row)*
            let (end, limit) = (true, i64::MAX);
            #(#after)*
        }
    }
}

/// A task's checkpoint code for the operators `saved` (id, state fingerprint, variable):
/// their restores at start, and what a barrier runs — `flush` (its writers flushed), then
/// with a checkpoint the operators saved into the task's snapshot, without one the sinks
/// synced (`syncs`).
pub(super) fn checkpoint_code(
    saved: &[(String, String, proc_macro2::Ident)],
    flush: &[TokenStream],
    syncs: &[TokenStream],
) -> (Vec<TokenStream>, TokenStream) {
    let restores = saved.iter().map(|(id, fp, var)| quote!(restored.load(#id, #fp, &mut #var)?;)).collect();
    let saves = saved.iter().map(|(id, fp, var)| quote!(snapshot.save(#id, #fp, &mut #var)?;));
    let arrive = if saved.is_empty() {
        quote!(task.arrive(id, snapshot, &barrier.position)?;)
    } else {
        quote!(task.arrive_with(id, snapshot, &barrier.position, &mut state)?;)
    };
    let on_barrier = quote! {
        #(#flush)*
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
    };
    (restores, on_barrier)
}

/// A worker's restore from a checkpoint taken at another parallelism (an `else` branch
/// after its ordinary restore): the operators `saved` merge the snapshot of each old
/// worker that had some of its key groups, keeping the keys the worker owns (`keeps`,
/// per keyed operator; the watermark is not keyed).
pub(super) fn rescale_code(
    saved: &[(String, String, proc_macro2::Ident)],
    keeps: &[(proc_macro2::Ident, TokenStream)],
) -> TokenStream {
    let merges = saved.iter().map(|(id, fp, var)| {
        let keep = keeps.iter().find(|(op, _)| op == var).map_or_else(|| quote!(&|_: &()| true), |(_, k)| k.clone());
        quote!(restored.merge(#id, #fp, &mut #var, #keep)?;)
    });
    quote! {
        else if let Some(mut rescaled) = task.take_rescaled() {
            for (mut restored, files) in rescaled.take_parts() {
                rt::state::StateBackend::merge_from(&mut state, files.as_deref())?;
                #(#merges)*
                restored.done()?;
            }
            rt::state::StateBackend::merge_from(&mut state, None)?;
            rescaled.finish(task.name());
        }
    }
}

impl Gen<'_> {
    /// The fingerprint of an upsert table's normalised state (its columns, key and backend).
    pub(super) fn upsert_fingerprint(&self, t: &crate::hir::Table) -> String {
        let columns: Vec<String> = t.columns.iter().map(|c| format!("{} {}", c.name, c.ty)).collect();
        let pk: Vec<&str> = t.primary_key.iter().map(|&i| t.columns[i].name.as_str()).collect();
        fingerprint(&format!("upsert ({}) key ({}) in {}", columns.join(", "), pk.join(", "), self.backend_name()))
    }
}
