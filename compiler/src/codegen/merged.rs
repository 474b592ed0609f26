//! A task reading two tables (a join needs rows of both): each source runs on a thread of
//! its own and the task handles their events, merged, in one closure — each table's rows
//! through its branches, barriers aligned across both sources into one checkpoint, one
//! watermark per table with a WATERMARK (the task's is the least of those whose input has
//! not ended).

use super::{Gen, Stateful, fingerprint};
use crate::hir::TableId;
use crate::plan::{Origin, Step};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

impl Gen<'_> {
    /// A task reading tables `ids` (the first's rows start [`Origin::Input`] branches, the
    /// second's [`Origin::Second`] ones).
    pub(super) fn tables_task(
        &mut self,
        ids: [TableId; 2],
        barrier: &[TokenStream],
        syncs: &[TokenStream],
        idle: &[TokenStream],
    ) -> TokenStream {
        let program = self.program;
        let tables = [&program.tables[ids[0].0], &program.tables[ids[1].0]];
        if self.branches.iter().flat_map(|b| &b.steps).any(|s| matches!(s, Step::WindowAggregate(w) if w.proctime)) {
            self.error(
                tables[0].span,
                "processing-time windows in a task reading two tables cannot be compiled yet".into(),
            );
        }
        let frames = [self.source_frame(tables[0]), self.source_frame(tables[1])];
        self.plan_liveness([frames[0].len(), frames[1].len()]);
        // Per input: its source, and the code turning its row into the branches' rows.
        let mut sources = Vec::new();
        let mut on_rows = Vec::new();
        let mut timed_rows = Vec::new();
        for (i, origin) in [Origin::Input, Origin::Second].into_iter().enumerate() {
            self.source = Some(ids[i]);
            self.late_sink = None;
            // A worker's rows come from the table's router, converted and computed.
            let computed = match self.worker {
                true => Vec::new(),
                false => self.computed_columns(tables[i], &frames[i]),
            };
            let mut rows = self.rows_from(origin, &frames[i]);
            let (source, convert) = match self.worker {
                true => {
                    let k = syn::Index::from(i);
                    (quote!(input.#k), quote!(row))
                }
                false => self.source(ids[i]),
            };
            if tables[i].is_changelog_source() {
                // Each change an upsert record makes to the latest row of its key runs the
                // branches.
                rows = vec![self.normalized(i, tables[i], rows)];
            }
            let prelude =
                if tables[i].is_changelog_source() { quote!(let tombstone = row.tombstone;) } else { quote!() };
            sources.push(source);
            on_rows.push((prelude, convert, computed, rows));
        }
        if self.instance {
            // Repartitioned (`'scale-out.mode'`): both tables' records come from the join's
            // shuffle topic, read by the task's thread for its instances.
            let [ta, tb] = tables.map(super::table_struct);
            let parts: Vec<TokenStream> = tables
                .iter()
                .map(|t| {
                    let (validate, _) = self.kafka_conversion(t);
                    let (name, cols, key) = (&t.name, super::columns_ident(t), super::sources::changelog_key(t));
                    quote!((cx.table(#name)?, &#cols[..], #key, #validate))
                })
                .collect();
            let task = super::tables_task_name(tables[0], tables[1]);
            self.instance_source =
                Some(quote!(rt::connectors::kafka::shuffle::pair_source::<#ta, #tb>(#(#parts),*, #task)?));
        }
        let (after, timed) = self.fired();
        // A watermark per table that has one, when an operator needs it.
        let mut wm_setup = Vec::new();
        let mut wm_events = [quote!(), quote!()];
        let mut saved: Vec<(String, String, proc_macro2::Ident)> = Vec::new();
        let mut current = Vec::new();
        for (i, t) in tables.iter().enumerate() {
            let wm = format_ident!("wm{}", i);
            let delay = t.watermark.as_ref().and_then(|w| Some((w.column, w.max_out_of_orderness_ms?)));
            match delay {
                Some(_) if timed && (self.worker || self.instance) => {
                    // The watermark the table's router computed, sent between its rows (a
                    // worker); the one the writers' marks give, the same for both tables
                    // (an instance of a repartitioned join).
                    wm_setup.push(quote!(let mut #wm = rt::exchange::UpstreamWatermark::new();));
                    timed_rows.push(quote!());
                    wm_events[i] = quote!(#wm.on_event(&event););
                    saved.push((format!("watermark_{i}"), fingerprint("upstream-watermark"), wm.clone()));
                    current.push(quote!(if ended[#i] { i64::MAX } else { #wm.current() }));
                }
                Some((column, delay)) if timed => {
                    let name = &t.name;
                    let place = &frames[i][column];
                    wm_setup
                        .push(quote!(let mut #wm = rt::connectors::SourceWatermark::for_table(cx, #name, #delay)?;));
                    timed_rows.push(quote!(#wm.observe(split, #place.as_ref().map(|ts| ts.millis()));));
                    wm_events[i] = quote!(#wm.on_event(&event););
                    saved.push((format!("watermark_{i}"), fingerprint("source-watermark"), wm.clone()));
                    current.push(quote!(if ended[#i] { i64::MAX } else { #wm.current() }));
                }
                _ => timed_rows.push(quote!()),
            }
        }
        if timed && current.is_empty() {
            self.error(
                tables[0].span,
                format!(
                    "the windows or interval joins over `{}` and `{}` need a WATERMARK of the form `ts - INTERVAL …` on them",
                    tables[0].name, tables[1].name
                ),
            );
        }
        let limit = if timed {
            quote!(let limit = if end { i64::MAX } else { i64::MAX #(.min(#current))* };)
        } else {
            quote!()
        };
        // The routers compute the tables' watermarks when an operator needs them.
        self.worker_event_time = timed;
        let Stateful { mut setup, operators, keeps } = std::mem::take(&mut self.stateful);
        for (i, t) in tables.iter().enumerate().filter(|(_, t)| t.is_changelog_source()) {
            let (op, id, backend) = (format_ident!("normalize{}", i), format!("upsert_{i}"), self.backend_type());
            setup.push(quote! {
                let mut #op: rt::UpsertNormalize<_, _, #backend> =
                    rt::UpsertNormalize::in_backend(&mut state, #id).with_ttl(cx.state_ttl_ms()?, rt::time::epoch_ms);
            });
            saved.push((id, self.upsert_fingerprint(t), op));
        }
        if !setup.is_empty() {
            setup.insert(0, self.backend_open());
        }
        for (op, fp) in operators {
            saved.push((op.to_string(), fp, op));
        }
        let (restores, on_barrier) = super::task::checkpoint_code(&saved, barrier, syncs);
        // A worker restored at another parallelism takes its key groups' state.
        let rescale = match self.worker && !saved.is_empty() {
            true => super::task::rescale_code(&saved, &keeps),
            false => quote!(),
        };
        // A worker's inputs ended as its routers say (exhausted, or stopped).
        let input_ended = match self.worker {
            true => quote!(task.input_ended_if(exhausted.load(std::sync::atomic::Ordering::Acquire))),
            false => quote!(task.input_ended()),
        };
        let stateful = !saved.is_empty();
        // A task keeping state commits its sources' positions only with checkpoints.
        let commits = if stateful {
            quote! {
                let (source0, source1) = (rt::Source::with_keyed_state(source0), rt::Source::with_keyed_state(source1));
                let (source0, source1) = if task.enabled() {
                    (source0, source1)
                } else {
                    (rt::Source::without_commits(source0), rt::Source::without_commits(source1))
                };
            }
        } else {
            quote!()
        };
        let rows: Vec<TokenStream> = on_rows
            .into_iter()
            .zip(&timed_rows)
            .map(|((prelude, convert, computed, rows), wm_row)| {
                quote! {
                    #prelude
                    let mut row = #convert;
                    #(#computed)*
                    #wm_row
                    let kind = rt::RowKind::Insert;
                    #(#rows)*
                }
            })
            .collect();
        let (row0, row1, event0, event1) = (&rows[0], &rows[1], &wm_events[0], &wm_events[1]);
        let (source0, source1) = (&sources[0], &sources[1]);
        // The sources, restored, and the handler's typing; then how it is run.
        let (open, handler, run) = if self.instance {
            let commits = match stateful {
                true => quote! {
                    let source = rt::Source::with_keyed_state(source);
                    let source = if task.enabled() { source } else { rt::Source::without_commits(source) };
                },
                false => quote!(),
            };
            let open = quote! {
                let mut source = input;
                if let Some(mut restored) = task.take_restored() {
                    rt::Source::restore(&mut source, restored.position())?;
                    #(#restores)*
                    restored.done()?;
                }
                #commits
            };
            let handler = (quote!(rt::connectors::kafka::shuffle::pair_handler), quote!(&source,));
            let run = quote!(rt::connectors::kafka::shuffle::run_pair(cx, source, |event| handle(Some(event)))?;);
            (open, handler, run)
        } else {
            let open = quote! {
                let mut source0 = #source0;
                let mut source1 = #source1;
                // Where each source resumes (an input that had ended is not read again).
                let mut from = Default::default();
                if let Some(mut restored) = task.take_restored() {
                    from = rt::connectors::merge::restore(&mut source0, &mut source1, restored.position())?;
                    #(#restores)*
                    restored.done()?;
                } #rescale
                #commits
            };
            let handler = (quote!(rt::connectors::merge::merged_handler), quote!(&source0, &source1,));
            let run = quote!(rt::connectors::merge::run_merged_from(cx, source0, source1, from, |event| handle(Some(event)))?;);
            (open, handler, run)
        };
        let (handler_fn, handler_args) = handler;
        quote! {
            #(#wm_setup)*
            #(#setup)*
            #open
            // Whether each input has ended (its watermark then holds nothing back).
            let mut ended = [false; 2];
            let mut handle = #handler_fn(#handler_args |event| -> rt::Result<()> {
                use rt::connectors::SourceEvent;
                use rt::connectors::merge::Merged;
                let end = event.is_none();
                match event {
                    Some(Merged::A(SourceEvent::Row(split, row))) => {
                        #row0
                    }
                    Some(Merged::B(SourceEvent::Row(split, row))) => {
                        #row1
                    }
                    Some(Merged::Barrier(barrier))
                    | Some(Merged::A(SourceEvent::Barrier(barrier)))
                    | Some(Merged::B(SourceEvent::Barrier(barrier))) => {
                        #on_barrier
                    }
                    Some(Merged::A(event)) => {
                        if let SourceEvent::Idle = event {
                            #(#idle)*
                        }
                        #event0
                    }
                    Some(Merged::B(event)) => {
                        if let SourceEvent::Idle = event {
                            #(#idle)*
                        }
                        #event1
                    }
                    Some(Merged::Ended(i)) => ended[i] = true,
                    // At the end of the input every window fires (not when stopped with a
                    // checkpoint: the state is in it).
                    None if !#input_ended => return Ok(()),
                    None => {}
                }
                #limit
                #(#after)*
                Ok(())
            });
            #run
            handle(None)?;
        }
    }

    /// The row path of changelog input `i` (an upsert table): the record's key, and each
    /// change it makes to the latest row of its key through the branches `rows`.
    fn normalized(&mut self, i: usize, t: &crate::hir::Table, rows: Vec<TokenStream>) -> TokenStream {
        let (key_setup, key) = self.upsert_key(t);
        let op = format_ident!("normalize{}", i);
        quote! {
            #key_setup
            #op.apply(#key, (!tombstone).then_some(row), |kind, row| -> rt::Result<()> {
                #(#rows)*
                Ok(())
            })?;
        }
    }
}
