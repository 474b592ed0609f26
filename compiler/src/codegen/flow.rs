//! How rows flow through a task's operators: the operators that fire or drain after each
//! source event (window aggregations, window joins, regular joins), in an order where each
//! comes after those feeding it, and the code carrying a row — with its change kind, the
//! variable `kind` — from where it appears (the source's row, a window firing, a join's
//! output) through a branch's steps to its target. Operators that answer each row at once
//! (GROUP BY, Top-N) call the rest of the branch from their change closure, so any number
//! of them chain; their closures are written once, where the row reaches them.

use super::Gen;
use super::expr::ExprGen;
use super::rows::field_ident;
use crate::plan::{Branch, Origin, Side, Step, Target};
use crate::types::TypeKind;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// An operator of a task that runs after each source event: a window aggregation (the
/// step of a branch) firing the windows the watermark passed, or a join (window join:
/// firing; regular join: joining the rows its sides received).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Node {
    Input,
    Window {
        branch: usize,
        step: usize,
    },
    Join(usize),
    /// A lookup join whose rows are queued to fetch their keys in batches.
    Lookup {
        branch: usize,
        step: usize,
    },
}

/// The nodes after the task's input, each after every node that feeds it; `batched` are
/// the lookup joins (branch, step) whose rows are queued.
pub(super) fn fire_order(branches: &[Branch], batched: &[(usize, usize)]) -> Vec<Node> {
    let mut nodes = vec![Node::Input];
    let mut edges: Vec<(Node, Node)> = Vec::new();
    let add = |nodes: &mut Vec<Node>, n: Node| {
        if !nodes.contains(&n) {
            nodes.push(n);
        }
    };
    for (b, branch) in branches.iter().enumerate() {
        let mut current = match branch.from {
            Origin::Input | Origin::Second => Node::Input,
            Origin::Join(j) => Node::Join(j),
            Origin::Window { branch, step } => Node::Window { branch, step },
        };
        add(&mut nodes, current);
        for (s, step) in branch.steps.iter().enumerate() {
            // Windows, and OVER aggregates of event time, emit when the watermark passes.
            if matches!(step, Step::WindowAggregate(_)) || matches!(step, Step::Over(o) if !o.proctime) {
                let next = Node::Window { branch: b, step: s };
                add(&mut nodes, next);
                edges.push((current, next));
                current = next;
            }
            if batched.contains(&(b, s)) {
                let next = Node::Lookup { branch: b, step: s };
                add(&mut nodes, next);
                edges.push((current, next));
                current = next;
            }
        }
        if let Target::Join { join, .. } = branch.target {
            add(&mut nodes, Node::Join(join));
            edges.push((current, Node::Join(join)));
        }
    }
    // Kahn's algorithm, in first-seen order among the ready nodes.
    let mut order = Vec::new();
    let mut placed = vec![false; nodes.len()];
    while order.len() < nodes.len() {
        let ready = (0..nodes.len())
            .find(|&i| !placed[i] && edges.iter().all(|(from, to)| *to != nodes[i] || order.contains(from)));
        // A cycle cannot arise from a tree of relations; place the rest as they come.
        let i = ready.unwrap_or_else(|| (0..nodes.len()).find(|&i| !placed[i]).unwrap_or(0));
        placed[i] = true;
        order.push(nodes[i]);
    }
    order.retain(|n| *n != Node::Input);
    order
}

impl Gen<'_> {
    /// A fresh label for a block that a filter leaves early.
    fn label(&mut self) -> syn::Lifetime {
        self.labels += 1;
        syn::Lifetime::new(&format!("'f{}", self.labels), proc_macro2::Span::call_site())
    }

    /// The code running branch `b`'s steps from `first` on over the columns `frame` (the
    /// change kind in `kind`), ending in the branch's target — or in the add of the first
    /// operator on the way, which runs the rest. `at_source`: the row is the source's
    /// (`row` in scope), so a row too late for a window can be written as it was read.
    pub(super) fn flow(&mut self, b: usize, first: usize, frame: Vec<TokenStream>, at_source: bool) -> TokenStream {
        let branch = self.branches[b].clone();
        let label = self.label();
        let mut frame = frame;
        let mut code = Vec::new();
        let current = std::mem::replace(&mut self.current, b);
        let mut done = false;
        for s in first..branch.steps.len() {
            match &branch.steps[s] {
                Step::Filter(predicate) => {
                    let mut g = ExprGen { rows: &mut self.rows, frame: &frame };
                    match g.expr(predicate) {
                        Ok(c) => code.push(quote!(if !rt::ops::is_true(#c) { break #label; })),
                        Err(what) => self.error(branch.span, format!("cannot generate code for {what} yet")),
                    }
                }
                Step::Project(exprs) => {
                    let mut next = Vec::new();
                    let live = self.lives.get(b).and_then(|l| l.get(s)).cloned().unwrap_or_default();
                    for (i, e) in exprs.iter().enumerate() {
                        // A column nothing downstream reads is not computed.
                        if !live.get(i).copied().unwrap_or(true) {
                            next.push(quote!(None::<()>));
                            continue;
                        }
                        let mut g = ExprGen { rows: &mut self.rows, frame: &frame };
                        match g.expr(e) {
                            Ok(c) => {
                                let v = format_ident!("p{}_{}_{}", b, s, i);
                                let t = self.rows.rust(&e.ty, "value");
                                code.push(quote!(let #v: Option<#t> = #c;));
                                next.push(quote!(#v));
                            }
                            Err(what) => self.error(branch.span, format!("cannot generate code for {what} yet")),
                        }
                    }
                    frame = next;
                }
                Step::WindowAggregate(w) => {
                    let slot = format!("{b}_{s}");
                    code.push(self.window_add(&slot, w, &frame, &branch, at_source));
                    done = true;
                }
                Step::Aggregate(g) => {
                    code.push(self.group_add(b, s, g, &frame, &branch));
                    done = true;
                }
                Step::TopN(t) => {
                    code.push(self.top_n_add(b, s, t, &frame, &branch));
                    done = true;
                }
                Step::Lookup(l) => {
                    code.push(self.lookup(b, s, l, &frame, &branch, at_source));
                    done = true;
                }
                Step::Over(o) => {
                    code.push(self.over_add(b, s, o, &frame, &branch));
                    done = true;
                }
            }
            if done {
                break;
            }
        }
        if !done {
            code.push(self.target_write(b, &branch, &frame, &label, at_source));
        }
        self.current = current;
        quote! {
            #label: {
                #(#code)*
            }
        }
    }

    /// What `node` does after each source event: fire the windows the watermark (`limit`)
    /// passed, or join the rows a regular join's sides received; each output row goes on
    /// through the branches continuing from it.
    pub(super) fn fire(&mut self, node: super::flow::Node) -> TokenStream {
        let fired = self.fire_at(node);
        // Rows reaching it behind the watermark by up to `delay` (an interval join's output)
        // must not be late: it runs that far behind.
        match self.node_delay(node) {
            0 => fired,
            delay => quote! {
                let limit = if end { i64::MAX } else { limit.saturating_sub(#delay) };
                #fired
            },
        }
    }

    /// How far behind the task's watermark the rows reaching `node` can be: an interval
    /// join emits a pair when its later row arrives, whose partner may be as far behind as
    /// the join's bounds allow; operators after it (and after those) run that far behind.
    fn node_delay(&self, node: Node) -> i64 {
        match node {
            Node::Input => 0,
            Node::Window { branch, .. } | Node::Lookup { branch, .. } => self.rows_delay(self.branches[branch].from),
            Node::Join(j) => (0..self.branches.len())
                .filter(|&b| matches!(self.branches[b].target, Target::Join { join, .. } if join == j))
                .map(|b| self.rows_delay(self.branches[b].from))
                .max()
                .unwrap_or(0),
        }
    }

    /// How far behind the watermark rows from `origin` can be (see [`node_delay`]).
    fn rows_delay(&self, origin: Origin) -> i64 {
        match origin {
            Origin::Input | Origin::Second => 0,
            Origin::Window { branch, step } => self.node_delay(Node::Window { branch, step }),
            Origin::Join(j) => {
                let own = self.joins[j].interval.map_or(0, |b| b.upper.max(b.lower.saturating_neg()).max(0));
                self.node_delay(Node::Join(j)).saturating_add(own)
            }
        }
    }

    /// [`fire`](Self::fire) with the task's watermark as it is.
    fn fire_at(&mut self, node: super::flow::Node) -> TokenStream {
        match node {
            Node::Input => quote!(),
            Node::Lookup { branch, step } => self.redis_lookup_fire(branch, step),
            Node::Window { branch: b, step: s } => {
                let w = match self.branches[b].steps[s].clone() {
                    Step::WindowAggregate(w) => w,
                    Step::Over(o) => return self.over_fire(b, s, &o),
                    _ => return quote!(),
                };
                let slot = format!("{b}_{s}");
                let (bindings, frame) = self.window_output(&slot, &w);
                let mut body = vec![self.flow(b, s + 1, frame.clone(), false)];
                // Branches sharing this window continue from its output too.
                for c in 0..self.branches.len() {
                    if self.branches[c].from == (Origin::Window { branch: b, step: s }) {
                        body.push(self.flow(c, 0, frame.clone(), false));
                    }
                }
                let op = format_ident!("window_{}", slot);
                // Window Top-Ns after it rank each window's rows once they are all in.
                let flushes = std::mem::take(&mut self.flushes);
                let meter = format_ident!("meter_{}", op);
                quote! {
                    #op.advance(limit, |key, w, acc| -> rt::Result<()> {
                        #meter.row_out();
                        let kind = rt::RowKind::Insert;
                        #(#bindings)*
                        #(#body)*
                        Ok(())
                    })?;
                    #(#flushes)*
                }
            }
            Node::Join(j) => {
                let Some(next) = self.branches.iter().position(|b| b.from == Origin::Join(j)) else {
                    return quote!();
                };
                let join = self.joins[j].clone();
                // The joined row's columns: the left side's, then the right side's (NULL
                // for the missing side of an outer join's unmatched row).
                let mut bindings = Vec::new();
                let mut frame = Vec::new();
                for (side, n) in [("l", join.left.len()), ("r", join.right.len())] {
                    let s = format_ident!("{}", side);
                    for i in 0..n {
                        let v = format_ident!("j{}_{}{}", j, side, i);
                        let slot = syn::Index::from(i);
                        bindings.push(quote!(let #v = #s.and_then(|row| row.#slot.clone());));
                        frame.push(quote!(#v));
                    }
                }
                let body = self.flow(next, 0, frame, false);
                let meter = format_ident!("meter_join_{}", j);
                let body = quote!(#meter.row_out(); #body);
                let (op, cond, pending) = (
                    format_ident!("join_{}", j),
                    format_ident!("join_cond_{}", j),
                    format_ident!("join_{}_pending", j),
                );
                if join.left_window.is_some() {
                    let flushes = std::mem::take(&mut self.flushes);
                    quote! {
                        #op.advance(limit, #cond, |_, l, r| -> rt::Result<()> {
                            let kind = rt::RowKind::Insert;
                            #(#bindings)*
                            #body
                            Ok(())
                        })?;
                        #(#flushes)*
                    }
                } else if join.versioned.is_some() {
                    // The queued rows: probe rows held until the watermark passes them
                    // (those behind it counted late), versions of the table's keys; then
                    // the probe rows the watermark passed joined with their versions.
                    quote! {
                        if !#pending.is_empty() {
                            let mut pending = std::mem::take(&mut #pending);
                            for input in pending.drain(..) {
                                #meter.row_in();
                                match input {
                                    // Late: behind the watermark the join last
                                    // advanced to (before this event's rows moved it).
                                    rt::JoinInput::Left(_, key, row) => {
                                        if !#op.add_left(key, row, i64::MIN) {
                                            cx.counters.late.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                        }
                                    }
                                    rt::JoinInput::Right(kind, key, row) => #op.add_right(kind, key, row),
                                }
                            }
                            #pending = pending;
                        }
                        #op.advance(limit, #cond, |kind, l, r| -> rt::Result<()> {
                            #(#bindings)*
                            #body
                            Ok(())
                        })?;
                    }
                } else if join.interval.is_some() {
                    // The queued rows joined (those behind the watermark counted late),
                    // then the rows the watermark passed freed (an outer side's unmatched
                    // ones emitted with NULLs).
                    let (l, r) = (format_ident!("JL{}", j), format_ident!("JR{}", j));
                    quote! {
                        let mut emit = |kind: rt::RowKind, l: Option<&#l>, r: Option<&#r>| -> rt::Result<()> {
                            #(#bindings)*
                            #body
                            Ok(())
                        };
                        if !#pending.is_empty() {
                            let mut pending = std::mem::take(&mut #pending);
                            for input in pending.drain(..) {
                                #meter.row_in();
                                // Late: behind the watermark the join last advanced
                                // to (before this event's rows moved it).
                                let on_time = match input {
                                    rt::JoinInput::Left(_, key, row) => #op.add_left(key, row, i64::MIN, #cond, &mut emit)?,
                                    rt::JoinInput::Right(_, key, row) => #op.add_right(key, row, i64::MIN, #cond, &mut emit)?,
                                };
                                if !on_time {
                                    cx.counters.late.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                }
                            }
                            #pending = pending;
                        }
                        #op.advance(limit, &mut emit)?;
                    }
                } else {
                    quote! {
                        if !#pending.is_empty() {
                            let mut pending = std::mem::take(&mut #pending);
                            for input in pending.drain(..) {
                                #meter.row_in();
                                #op.apply(input, #cond, |kind, l, r| -> rt::Result<()> {
                                    #(#bindings)*
                                    #body
                                    Ok(())
                                })?;
                            }
                            #pending = pending;
                        }
                    }
                }
            }
        }
    }

    /// A lookup join (step `step` of branch `b`): the table read whole into a
    /// [`LookupTable`](rt::LookupTable) before the source loop, indexed by its key
    /// expressions; each row runs the rest of the branch once per table row of its key that
    /// passes the rest of the ON condition — or, for a LEFT join without any, once with
    /// NULLs for the table's columns.
    fn lookup(
        &mut self,
        b: usize,
        step: usize,
        l: &crate::plan::Lookup,
        frame: &[TokenStream],
        branch: &Branch,
        at_source: bool,
    ) -> TokenStream {
        let program = self.program;
        let t = &program.tables[l.table.0];
        if t.connector == "redis" {
            return self.redis_lookup(b, step, l, frame, branch, at_source);
        }
        let (op, key_ty, row_ty) =
            (format_ident!("lookup_{}_{}", b, step), format_ident!("KeyL{}_{}", b, step), super::table_struct(t));
        // The table's columns, as its rows name them.
        let table_frame: Vec<TokenStream> = column_places(t, quote!(row)).collect();
        let mut key_types = Vec::new();
        let (mut left_keys, mut right_keys) = (Vec::new(), Vec::new());
        for (le, re) in &l.keys {
            key_types.push(self.key_type(le, branch));
            for (e, frame, out) in [(le, frame, &mut left_keys), (re, &table_frame[..], &mut right_keys)] {
                let mut g = ExprGen { rows: &mut self.rows, frame };
                match g.expr(e) {
                    Ok(c) if matches!(e.ty.kind, TypeKind::Float | TypeKind::Double) => {
                        out.push(quote!((#c).map(rt::agg::Ordered)))
                    }
                    Ok(c) => out.push(c),
                    Err(what) => self.error(branch.span, format!("cannot generate code for {what} yet")),
                }
            }
        }
        let names: Vec<proc_macro2::Ident> = (0..l.keys.len()).map(|i| format_ident!("lk{}", i)).collect();
        let key_of = |values: &[TokenStream]| {
            quote! {
                match (#(#values,)*) {
                    (#(Some(#names),)*) => Some((#(#names,)*)),
                    #[allow(unreachable_patterns)]
                    _ => None,
                }
            }
        };
        let (left_key, right_key) = (key_of(&left_keys), key_of(&right_keys));
        let (source, convert) = self.source(l.table);
        let computed = self.computed_columns(t, &table_frame);
        let declared = quote! {
            type #key_ty = (#(#key_types,)*);
            let #op: rt::LookupTable<#key_ty, #row_ty> = rt::LookupTable::load(#source, cx, |row| {
                let mut row = #convert;
                #(#computed)*
                (#right_key, row)
            })?;
        };
        self.stateful.setup.push(declared);
        let (condition, bindings, joined) = self.lookup_match(b, step, t, l, frame, branch);
        let test = condition.unwrap_or(quote!(true));
        let rest = self.flow(b, step + 1, joined, at_source);
        let pad =
            if l.kind == crate::ast::JoinKind::Left { quote!(found.iter().all(|m| !(#test))) } else { quote!(false) };
        quote! {
            let found: &[#row_ty] = match #left_key {
                Some(key) => #op.get(&key),
                None => &[],
            };
            let pad = #pad;
            for m in found.iter().filter(|m| #test).map(Some).chain(pad.then_some(None)) {
                #(#bindings)*
                #rest
            }
        }
    }

    /// What a lookup join does with `m`, a table row of the key (`Option<&row>`, `None`
    /// padding a LEFT join): the test of the rest of the ON condition over the input row's
    /// columns `row_frame` and `m`'s (`None` without one), the bindings of `m`'s columns, and
    /// the joined row's columns.
    fn lookup_match(
        &mut self,
        b: usize,
        step: usize,
        t: &crate::hir::Table,
        l: &crate::plan::Lookup,
        row_frame: &[TokenStream],
        branch: &Branch,
    ) -> (Option<TokenStream>, Vec<TokenStream>, Vec<TokenStream>) {
        let condition = l.condition.as_ref().map(|c| {
            let both: Vec<TokenStream> = row_frame.iter().cloned().chain(column_places(t, quote!(m))).collect();
            match (ExprGen { rows: &mut self.rows, frame: &both }).expr(c) {
                Ok(code) => quote!(rt::ops::is_true(#code)),
                Err(what) => {
                    self.error(branch.span, format!("cannot generate code for {what} yet"));
                    quote!(true)
                }
            }
        });
        let mut joined = row_frame.to_vec();
        let mut bindings = Vec::new();
        for (i, c) in t.columns.iter().enumerate() {
            let (f, v) = (field_ident(&c.name, i), format_ident!("lj{}_{}_{}", b, step, i));
            bindings.push(quote!(let #v = m.and_then(|m| m.#f.clone());));
            joined.push(quote!(#v));
        }
        (condition, bindings, joined)
    }

    /// A lookup join against a Redis table (step `step` of branch `b`): each row's key —
    /// the values the ON equalities give the columns of the table's key — fetched (through
    /// the table's cache, when it has one); the row runs the rest of the branch with the
    /// fetched row when it passes the whole ON condition, or — LEFT join, unless
    /// 'lookup.missing-key' = 'skip' — with NULLs.
    fn redis_lookup(
        &mut self,
        b: usize,
        step: usize,
        l: &crate::plan::Lookup,
        frame: &[TokenStream],
        branch: &Branch,
        at_source: bool,
    ) -> TokenStream {
        let program = self.program;
        let t = &program.tables[l.table.0];
        let (op, row_ty) = (format_ident!("lookup_{}_{}", b, step), super::table_struct(t));
        // The input's value for each column of the table's key, from the ON equalities.
        let mut parts = Vec::new();
        for column in super::redis_key_columns(t) {
            let bound = l.keys.iter().find(|(_, re)| {
                matches!(re.kind, crate::hir::ExprKind::Column(i) if t.columns.get(i).is_some_and(|c| c.name == column))
            });
            let Some((le, _)) = bound else {
                self.diagnostics.push(
                    crate::diagnostic::Diagnostic::error(
                        crate::diagnostic::Code::UnsupportedStreaming,
                        format!("the lookup join against Redis table `{}` does not give its key column `{column}`", t.name),
                    )
                    .at(branch.span, "lookup join here")
                    .with_help(format!(
                        "Redis is read by key: join ON `{}`.`{column}` = <an expression of the row>, for every column of the key ('key' option or PRIMARY KEY)",
                        t.name
                    )),
                );
                continue;
            };
            let mut g = ExprGen { rows: &mut self.rows, frame };
            match g.expr(le) {
                Ok(c) => parts.push(c),
                Err(what) => self.error(branch.span, format!("cannot generate code for {what} yet")),
            }
        }
        let table = super::redis_table(t);
        self.stateful.setup.push(quote! {
            let mut #op: rt::connectors::redis::RedisLookup<#row_ty> = rt::connectors::redis::lookup(#table)?;
            let skip_missing = #op.missing_key_skips();
        });
        let names: Vec<proc_macro2::Ident> = (0..parts.len()).map(|i| format_ident!("lk{}", i)).collect();
        // Batched, the row's columns are taken out of the queue when the join runs.
        let batched = self.batch_lookups;
        let queued: Vec<TokenStream> = (0..frame.len())
            .map(|i| {
                let c = format_ident!("lq{}_{}_{}", b, step, i);
                quote!(#c)
            })
            .collect();
        let row_frame: &[TokenStream] = if batched { &queued } else { frame };
        // The whole ON condition (its equalities too) over the row's columns and the fetched row's.
        let fetched_frame: Vec<TokenStream> = column_places(t, quote!(m)).collect();
        let mut tests = Vec::new();
        for (le, re) in &l.keys {
            let left = ExprGen { rows: &mut self.rows, frame: row_frame }.expr(le);
            let right = ExprGen { rows: &mut self.rows, frame: &fetched_frame }.expr(re);
            match (left, right) {
                (Ok(lc), Ok(rc)) => tests.push(quote!({ let l = #lc; l.is_some() && l == #rc })),
                (Err(what), _) | (_, Err(what)) => {
                    self.error(branch.span, format!("cannot generate code for {what} yet"))
                }
            }
        }
        let (condition, bindings, joined) = self.lookup_match(b, step, t, l, row_frame, branch);
        tests.extend(condition);
        let test = if tests.is_empty() { quote!(true) } else { quote!(#(#tests)&&*) };
        let left = l.kind == crate::ast::JoinKind::Left;
        let key = quote! {
            match (#(#parts,)*) {
                (#(Some(#names),)*) => Some(vec![#(rt::connectors::redis::KeyText::key_text(&#names)),*]),
                #[allow(unreachable_patterns)]
                _ => None,
            }
        };
        let join = |rest: TokenStream| {
            quote! {
                let matched = fetched.as_ref().filter(|m| #test);
                if matched.is_some() || (#left && !(fetched.is_none() && skip_missing)) {
                    let m = matched;
                    #(#bindings)*
                    #rest
                }
            }
        };
        if !batched {
            let rest = self.flow(b, step + 1, joined, at_source);
            let join = join(rest);
            return quote! {
                let fetched: Option<#row_ty> = match #key {
                    Some(key) => #op.get(&key)?,
                    None => None,
                };
                #join
            };
        }
        // Batched: the row (its kind, key and columns) queued; the queue's keys fetched in
        // one round trip when it is full or the source's event is not a row (see
        // `redis_lookup_fire`), and each row joined then.
        let pending = format_ident!("lookup_{}_{}_pending", b, step);
        self.stateful.setup.push(quote!(let mut #pending = Vec::with_capacity(rt::connectors::redis::LOOKUP_BATCH);));
        self.batched.push((b, step));
        let rest = self.flow(b, step + 1, joined, false);
        let join = join(rest);
        self.lookup_fires.push((
            (b, step),
            quote! {
                // The keys moved out of the queue, whose buffer is reused once drained.
                let mut batch = std::mem::take(&mut #pending);
                let keys: Vec<Option<Vec<String>>> = batch.iter_mut().map(|(_, key, _)| key.take()).collect();
                let fetched_rows = #op.get_batch(&keys)?;
                for ((kind, _, (#(#queued,)*)), fetched) in batch.drain(..).zip(fetched_rows) {
                    let fetched: Option<#row_ty> = fetched;
                    #join
                }
                #pending = batch;
            },
        ));
        quote! {
            #pending.push((kind, #key, (#(#frame.clone(),)*)));
        }
    }

    /// The fetch of a batched Redis lookup's queue, when it is full or the event was not a
    /// row (an idle source, a watermark, a barrier, the end): latency stays bounded by
    /// the source's idle interval.
    fn redis_lookup_fire(&mut self, b: usize, step: usize) -> TokenStream {
        let pending = format_ident!("lookup_{}_{}_pending", b, step);
        let Some((_, fetch)) = self.lookup_fires.iter().find(|(at, _)| *at == (b, step)).cloned() else {
            return quote!();
        };
        quote! {
            if !#pending.is_empty() && (flush_all || #pending.len() >= rt::connectors::redis::LOOKUP_BATCH) {
                #fetch
            }
        }
    }

    /// Writes the chain's output row to the branch's target: its sink table, or one side of
    /// its join — a window join with the row's window and key (a row from the source too
    /// late for the window is counted late, and written to the late-data table), a regular
    /// join queued with its kind and key until the join runs after the event.
    fn target_write(
        &mut self,
        index: usize,
        branch: &Branch,
        frame: &[TokenStream],
        label: &syn::Lifetime,
        source_row: bool,
    ) -> TokenStream {
        let (j, side) = match branch.target {
            Target::Join { join, side } => (join, side),
            // The first stage's window output, to the task's second stage.
            Target::Stage => {
                return match &self.routing {
                    Some((before, after)) => quote!(routed = Some((#(#before,)* #(#frame,)* #(#after,)*));),
                    // Across processes, with its window's last millisecond (`w`, the
                    // firing window: the stage ends right after it).
                    None if self.instance => quote!(stage_out.write(w.end - 1, (#(#frame,)*))?;),
                    None => quote!(stage_out.write((#(#frame,)*))?;),
                };
            }
            Target::Sink { .. } => return self.sink_write(index, branch, frame, label),
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
        let values = frame.iter().map(|v| quote!(#v.clone()));
        let row_ty = match side {
            Side::Left => format_ident!("JL{}", j),
            Side::Right => format_ident!("JR{}", j),
        };
        let row = quote!(#row_ty(#(#values,)*));
        // A NULL key equals nothing (an outer side's row is still emitted, with NULLs).
        code.push(quote! {
            let key = match (#(#key_values,)*) {
                (#(#key_patterns,)*) => Some((#(#key_values,)*)),
                #[allow(unreachable_patterns)]
                _ => None,
            };
        });
        let Some(window) = window else {
            let (pending, input) = (
                format_ident!("join_{}_pending", j),
                match side {
                    Side::Left => quote!(Left),
                    Side::Right => quote!(Right),
                },
            );
            return quote! {
                #(#code)*
                #pending.push(rt::JoinInput::#input(kind, key, #row));
            };
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
        let meter = format_ident!("meter_join_{}", j);
        quote! {
            #(#code)*
            if let (Some(s), Some(e)) = (#start.as_ref(), #end.as_ref()) {
                #meter.row_in();
                if !#op.#add(rt::time::Window::new(s.millis(), e.millis()), key, #row) {
                    cx.counters.late.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    #late
                }
            }
        }
    }

    /// Whether the rows reaching step `step` of branch `b` are changes (they may retract):
    /// its origin updates (a changelog source, an outer regular join, a regular join of
    /// updating inputs) or a GROUP BY or Top-N comes before, with no window after it.
    pub(super) fn updating_at(&self, b: usize, step: usize) -> bool {
        let branch = &self.branches[b];
        let mut updating = match branch.from {
            Origin::Input => self.updating,
            Origin::Second => self.updating_second,
            Origin::Window { .. } => false,
            Origin::Join(j) => self.join_updates(j),
        };
        for s in &branch.steps[..step.min(branch.steps.len())] {
            match s {
                Step::TopN(t) if t.windowed => updating = false,
                Step::Aggregate(_) | Step::TopN(_) => updating = true,
                Step::WindowAggregate(_) => updating = false,
                Step::Filter(_) | Step::Project(_) | Step::Lookup(_) | Step::Over(_) => {}
            }
        }
        updating
    }

    /// Whether join `j`'s output updates: a regular join that is outer or has an updating
    /// side.
    pub(super) fn join_updates(&self, j: usize) -> bool {
        let join = &self.joins[j];
        // Window, interval and temporal joins emit a row only once it is final.
        if join.left_window.is_some() || join.interval.is_some() || join.versioned.is_some() {
            return false;
        }
        join.kind != crate::ast::JoinKind::Inner
            || (0..self.branches.len()).any(|b| {
                matches!(self.branches[b].target, Target::Join { join, .. } if join == j)
                    && self.updating_at(b, self.branches[b].steps.len())
            })
    }

    /// Whether branch `b` writes changes into its sink.
    pub(super) fn branch_updates(&self, b: usize) -> bool {
        self.updating_at(b, self.branches[b].steps.len())
    }

    /// The source row's columns as the first frame of its branches.
    pub(super) fn source_frame(&self, t: &crate::hir::Table) -> Vec<TokenStream> {
        column_places(t, quote!(row)).collect()
    }
}

/// The places of table `t`'s columns in a row struct held by `row` (`row.id`, `m.name`…).
fn column_places(t: &crate::hir::Table, row: TokenStream) -> impl Iterator<Item = TokenStream> + '_ {
    t.columns.iter().enumerate().map(move |(i, c)| {
        let f = field_ident(&c.name, i);
        quote!(#row.#f)
    })
}
