//! The code of a task run N-wide (see [`crate::parallel`]): the hash of its route key over
//! the source row, and its router reading the source into the workers (the task's
//! ordinary code over the router's rows, instantiated N times; see `dfl::exchange`).

use super::Gen;
use super::expr::ExprGen;
use crate::parallel::Exchange;
use crate::plan::{Input, Task};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

impl Gen<'_> {
    /// `fn route_<i>(row: &T) -> u64`: the hash of the route key of task `i`'s row (after
    /// its computed columns).
    pub(super) fn route_fn(&mut self, i: usize, task: &Task, exchange: &Exchange) -> (proc_macro2::Ident, TokenStream) {
        let Input::Table(id) = task.input else { unreachable!("checked by exchange_plan") };
        let t = &self.program.tables[id.0];
        let ts = super::table_struct(t);
        let f = format_ident!("route_{}", i);
        let frame = self.source_frame(t);
        let span = task.branches.first().map(|b| b.span).unwrap_or_default();
        let mut keys = Vec::new();
        for e in &exchange.key {
            let mut g = ExprGen { rows: &mut self.rows, frame: &frame };
            match g.expr(e) {
                Ok(c) if matches!(e.ty.kind, crate::types::TypeKind::Float | crate::types::TypeKind::Double) => {
                    keys.push(quote!((#c).map(rt::agg::Ordered)))
                }
                Ok(c) => keys.push(c),
                Err(what) => self.error(span, format!("cannot generate code for {what} yet")),
            }
        }
        let def = quote! {
            fn #f(row: &#ts) -> u64 {
                rt::exchange::hash_key(&(#(#keys,)*))
            }
        };
        (f, def)
    }

    /// The router of task `i` (named `name`) reading table `task`'s source into `hub`.
    pub(super) fn router(
        &mut self,
        task: &Task,
        name: &str,
        hub: &proc_macro2::Ident,
        route: &proc_macro2::Ident,
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
                        let hash = #route(&row);
                        let event_time = #event_time;
                        rt::exchange::Routed { row, hash, event_time }
                    })?;
                    task.finish_if(hub.exhausted().load(std::sync::atomic::Ordering::Acquire));
                    Ok(())
                }) as rt::Task<'_>
            }
        }
    }

    /// The writer of the shuffle topic of task `task` (named `task_name`), which repartitions
    /// its table by the hash `route` gives, as task `writer` (see
    /// `dfl::connectors::kafka::shuffle`): the table's records with the table's watermark.
    pub(super) fn shuffle_writer(
        &mut self,
        task: &Task,
        writer: &str,
        task_name: &str,
        route: &proc_macro2::Ident,
    ) -> TokenStream {
        let Input::Table(id) = task.input else { unreachable!("a repartitioned task reads one table") };
        let t = &self.program.tables[id.0];
        let frame = self.source_frame(t);
        let computed = self.computed_columns(t, &frame);
        let (_, convert) = self.source(id);
        let (validate, _) = self.kafka_conversion(t);
        let ts = super::table_struct(t);
        let cols = format_ident!("{}", super::rows::struct_ident("COLUMNS", &t.name).to_string().to_uppercase());
        let table = &t.name;
        let source =
            quote!(rt::connectors::kafka::shuffle::writer_source::<#ts>(cx.table(#table)?, &#cols, #validate)?);
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
                rt::connectors::kafka::shuffle::write(cx, #writer, #task_name, source, &opts, #delay, |record| {
                    let row = record.without_bytes();
                    let mut row = #convert;
                    #(#computed)*
                    Ok((#route(&row), #event_time))
                })
            })
        }
    }
}
