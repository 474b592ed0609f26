//! The state-keeping steps of a branch: a window aggregation's operator, row path
//! (`add`) and output columns; a window join's types, operator and condition; and late
//! rows written to the late-data table.

use super::expr::ExprGen;
use super::rows::{field_ident, is_writable};
use super::{Gen, sink_struct};
use crate::diagnostic::{Code, Diagnostic};
use crate::plan::{Bound, Branch, Origin, Step, Target, WindowAggregate, Windows};
use crate::types::TypeKind;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

impl Gen<'_> {
    /// Declares window join `j` (its key and row types, the operator and the function
    /// checking the rest of its ON condition) among the task's operators.
    pub(super) fn join_setup(&mut self, j: usize, branch: &Branch) {
        let join = self.joins[j].clone();
        let (op, k, l, r, cond) = (
            format_ident!("join_{}", j),
            format_ident!("JK{}", j),
            format_ident!("JL{}", j),
            format_ident!("JR{}", j),
            format_ident!("join_cond_{}", j),
        );
        let name = op.to_string();
        let left: Vec<TokenStream> = join.left.iter().map(|t| self.rows.rust(t, "value")).collect();
        let right: Vec<TokenStream> = join.right.iter().map(|t| self.rows.rust(t, "value")).collect();
        let keys: Vec<TokenStream> = join.keys.iter().map(|(e, _)| self.key_type(e, branch)).collect();
        let kind = match join.kind {
            crate::ast::JoinKind::Left => quote!(rt::JoinKind::Left),
            crate::ast::JoinKind::Right => quote!(rt::JoinKind::Right),
            crate::ast::JoinKind::Full => quote!(rt::JoinKind::Full),
            _ => quote!(rt::JoinKind::Inner),
        };
        // The rest of the ON condition, over both rows' columns in place.
        let frame: Vec<TokenStream> = (0..left.len())
            .map(|i| {
                let i = syn::Index::from(i);
                quote!(l.#i)
            })
            .chain((0..right.len()).map(|i| {
                let i = syn::Index::from(i);
                quote!(r.#i)
            }))
            .collect();
        let test = match &join.condition {
            Some(c) => {
                let mut g = ExprGen { rows: &mut self.rows, frame: &frame };
                match g.expr(c) {
                    Ok(code) => quote!(rt::ops::is_true(#code)),
                    Err(what) => {
                        self.error(branch.span, format!("cannot generate code for {what} yet"));
                        quote!(false)
                    }
                }
            }
            None => quote!(true),
        };
        let b = self.backend_type();
        let operator = if join.left_window.is_some() {
            quote!(let mut #op: rt::WindowJoin<#k, #l, #r, #b> = rt::WindowJoin::in_backend(&mut state, #name, #kind);)
        } else if let Some((left_time, right_time)) = join.versioned {
            let (lt, rt_) = (syn::Index::from(left_time), syn::Index::from(right_time));
            let outer = join.kind == crate::ast::JoinKind::Left;
            quote! {
                let mut #op: rt::TemporalJoin<#k, #l, #r, #b> = rt::TemporalJoin::in_backend(
                    &mut state,
                    #name,
                    #outer,
                    |l: &#l| l.#lt.as_ref().map(|t| t.millis()),
                    |r: &#r| r.#rt_.as_ref().map(|t| t.millis()),
                );
            }
        } else if let Some(bounds) = join.interval {
            let (lt, rt_, lower, upper) =
                (syn::Index::from(bounds.left_time), syn::Index::from(bounds.right_time), bounds.lower, bounds.upper);
            quote! {
                let mut #op: rt::IntervalJoin<#k, #l, #r, #b> = rt::IntervalJoin::in_backend(
                    &mut state,
                    #name,
                    #kind,
                    rt::IntervalBounds { lower: #lower, upper: #upper },
                    |l: &#l| l.#lt.as_ref().map(|t| t.millis()),
                    |r: &#r| r.#rt_.as_ref().map(|t| t.millis()),
                );
            }
        } else {
            quote! {
                let mut #op: rt::RegularJoin<#k, #l, #r, #b> =
                    rt::RegularJoin::in_backend(&mut state, #name, #kind).with_ttl(cx.state_ttl_ms()?, rt::time::epoch_ms);
            }
        };
        // A regular join's sides queue their rows (with kind and key) for the join, which
        // runs once after each source event: one place continues from its output.
        let queue = match join.left_window {
            Some(_) => quote!(),
            None => {
                let pending = format_ident!("join_{}_pending", j);
                quote!(let mut #pending: Vec<rt::JoinInput<#k, #l, #r>> = Vec::new();)
            }
        };
        let (left_row, right_row) = (row_struct(&l, &left), row_struct(&r, &right));
        let types = quote! {
            type #k = (#(#keys,)*);
            #left_row
            #right_row
        };
        self.stateful.operator(&op, &quote!(#types #operator));
        // In a worker: the join keys it owns at a restore at another parallelism. A join
        // key holds its components' values (a NULL in one makes the key `None`), which the
        // router hashed as the `Some` of the SQL values.
        let mut nulls = quote!();
        if let Some(at) = self.join_positions.get(&j).filter(|_| self.worker) {
            let fields = at.iter().map(|&i| syn::Index::from(i));
            let keep = quote!(&|key: &#k| rescaled.owns(rt::exchange::hash_key(&(#(Some(&key.#fields),)*))));
            self.stateful.keeps.push((op.clone(), keep));
            // A window join's rows of NULL keys go to one worker: the owner of the empty key.
            if join.left_window.is_some() {
                nulls = quote! {
                    let nulls = rt::exchange::key_group(rt::exchange::hash_key(&()));
                    #op.owns_nulls(rt::exchange::worker_of(nulls, parallelism) == index);
                };
            }
        }
        self.meter(&op, &format!("join{j}"), "join");
        self.stateful.setup.push(quote! {
            #types
            fn #cond(l: &#l, r: &#r) -> bool {
                #test
            }
            #operator
            #nulls
            #queue
        });
    }

    /// The Rust type of a key column (doubles, which have no `Eq`, by their SQL order).
    pub(super) fn key_type(&mut self, e: &crate::hir::Expr, branch: &Branch) -> TokenStream {
        if matches!(e.ty.kind, TypeKind::Row(_) | TypeKind::Array(_) | TypeKind::Map(..)) {
            self.error(branch.span, format!("keying by a {} column is not supported by code generation yet", e.ty));
        }
        let t = self.rows.rust(&e.ty, "key");
        if matches!(e.ty.kind, TypeKind::Float | TypeKind::Double) { quote!(rt::agg::Ordered<#t>) } else { t }
    }

    /// The row path of a keyed aggregation: code computing the group key (`k<slot>_<i>`)
    /// and the aggregate arguments, the key's element types, and per aggregate its
    /// accumulator type, its update of `acc` and its constructor.
    #[allow(clippy::type_complexity)]
    fn keyed_accumulators(
        &mut self,
        slot: &str,
        group: &[Option<&crate::hir::Expr>],
        aggregates: &[crate::hir::AggregateCall],
        frame: &[TokenStream],
        branch: &Branch,
        retracting: bool,
    ) -> (Vec<TokenStream>, Vec<TokenStream>, Vec<TokenStream>, Vec<TokenStream>, Vec<TokenStream>, Vec<TokenStream>)
    {
        let index = slot;
        let mut code = Vec::new();
        let mut key_types = Vec::new();
        let mut key_values = Vec::new();
        for (i, g) in group.iter().enumerate() {
            let Some(e) = g else { continue };
            if matches!(e.ty.kind, TypeKind::Row(_) | TypeKind::Array(_) | TypeKind::Map(..)) {
                self.error(
                    branch.span,
                    format!("grouping by a {} column is not supported by code generation yet", e.ty),
                );
            }
            // Doubles have no Eq/Hash: they are keyed by their SQL order.
            let float = matches!(e.ty.kind, TypeKind::Float | TypeKind::Double);
            let mut g = ExprGen { rows: &mut self.rows, frame };
            match g.expr(e) {
                Ok(c) => {
                    let v = format_ident!("k{}_{}", index, i);
                    let t = self.rows.rust(&e.ty, "key");
                    if float {
                        code.push(quote!(let #v: Option<rt::agg::Ordered<#t>> = (#c).map(rt::agg::Ordered);));
                        key_types.push(quote!(Option<rt::agg::Ordered<#t>>));
                    } else {
                        code.push(quote!(let #v: Option<#t> = #c;));
                        key_types.push(quote!(Option<#t>));
                    }
                    key_values.push(quote!(#v));
                }
                Err(what) => self.error(branch.span, format!("cannot generate code for {what} yet")),
            }
        }
        let mut acc_types = Vec::new();
        let mut updates = Vec::new();
        let mut makes = Vec::new();
        for (i, a) in aggregates.iter().enumerate() {
            let ty = self.rows.rust(&a.ty, "agg");
            let slot = syn::Index::from(i);
            if let Some(rust) = &a.rust {
                // A Rust aggregate function: its arguments as declared (one, or a tuple).
                if retracting && !rust.retracts {
                    self.rust_aggregate_lacks(a, rust, "retract", "aggregates an updating input here");
                }
                let mut args = Vec::new();
                for (j, e) in a.args.iter().enumerate() {
                    let mut g = ExprGen { rows: &mut self.rows, frame };
                    match g.expr(e) {
                        Ok(c) => {
                            let v = format_ident!("a{}_{}_{}", index, i, j);
                            code.push(quote!(let #v = #c;));
                            args.push(quote!(#v.clone()));
                        }
                        Err(what) => self.error(branch.span, format!("cannot generate code for {what} yet")),
                    }
                }
                let input = if args.len() == 1 { args.remove(0) } else { quote!((#(#args,)*)) };
                let path: TokenStream = rust.path.parse().unwrap_or_default();
                acc_types.push(quote!(rt::udfs::Udaf<#path>));
                let add = if retracting {
                    quote!(if retract { acc.#slot.retract(#input); } else { acc.#slot.add(#input); })
                } else {
                    quote!(acc.#slot.add(#input))
                };
                updates.push(self.filtered(index, i, a, add, frame, branch, &mut code));
                makes.push(quote!(Default::default()));
                continue;
            }
            let arg = match a.args.first() {
                Some(e) => {
                    let mut g = ExprGen { rows: &mut self.rows, frame };
                    match g.expr(e).and_then(|c| {
                        // Accumulators take the result's type (SUM(INT) is INT, MAX(x) is x's type).
                        if matches!(a.function.as_str(), "COUNT") { Ok(c) } else { g.cast(c, &e.ty, &a.ty, false) }
                    }) {
                        Ok(c) => {
                            let v = format_ident!("a{}_{}", index, i);
                            code.push(quote!(let #v = #c;));
                            Some((v, e.ty.clone()))
                        }
                        Err(what) => {
                            self.error(branch.span, format!("cannot generate code for {what} yet"));
                            None
                        }
                    }
                }
                None => None,
            };
            let arg_ty = arg.as_ref().map(|(_, t)| self.rows.rust(t, "agg"));
            // Over changes, MIN/MAX/FIRST_VALUE/LAST_VALUE keep their inputs to retract them.
            let (min, max, first, last) = if retracting {
                (quote!(MinRetract), quote!(MaxRetract), quote!(FirstValueRetract), quote!(LastValueRetract))
            } else {
                (quote!(Min), quote!(Max), quote!(FirstValue), quote!(LastValue))
            };
            let (acc, input) = match (a.function.as_str(), a.distinct, &arg) {
                ("COUNT", false, None) => (quote!(rt::agg::Count), quote!(true)),
                ("COUNT", false, Some((v, _))) => (quote!(rt::agg::Count), quote!(#v.is_some())),
                ("COUNT", true, Some((v, _))) if a.args.len() == 1 => {
                    (quote!(rt::agg::CountDistinct<#arg_ty>), quote!(#v.clone()))
                }
                ("SUM", false, Some((v, _))) => (quote!(rt::agg::Sum<#ty>), quote!(#v.clone())),
                ("MIN", _, Some((v, _))) => (quote!(rt::agg::#min<#ty>), quote!(#v.clone())),
                ("MAX", _, Some((v, _))) => (quote!(rt::agg::#max<#ty>), quote!(#v.clone())),
                ("AVG", false, Some((v, _))) => (quote!(rt::agg::Avg<#ty>), quote!(#v.clone())),
                ("FIRST_VALUE", false, Some((v, _))) => (quote!(rt::agg::#first<#ty>), quote!(#v.clone())),
                ("LAST_VALUE", false, Some((v, _))) => (quote!(rt::agg::#last<#ty>), quote!(#v.clone())),
                _ => {
                    self.error(
                        branch.span,
                        format!(
                            "{}{} is not supported by code generation yet",
                            a.function,
                            if a.distinct { "(DISTINCT …)" } else { "" }
                        ),
                    );
                    (quote!(()), quote!(()))
                }
            };
            let add = if acc.is_empty() || acc.to_string() == "()" {
                quote!(())
            } else if retracting {
                quote!(if retract { acc.#slot.retract(#input); } else { acc.#slot.add(#input); })
            } else {
                quote!(acc.#slot.add(#input))
            };
            let add = self.filtered(index, i, a, add, frame, branch, &mut code);
            let make = match (&a.function[..], &a.ty.kind) {
                ("AVG", TypeKind::Decimal { scale, .. }) => {
                    quote!(rt::agg::Avg::<rt::Decimal>::with_result_scale(#scale))
                }
                _ => quote!(Default::default()),
            };
            acc_types.push(acc);
            updates.push(add);
            makes.push(make);
        }
        (code, key_types, key_values, acc_types, updates, makes)
    }

    /// A Rust aggregate function called where it needs `method`, which its `impl` lacks.
    fn rust_aggregate_lacks(
        &mut self,
        a: &crate::hir::AggregateCall,
        rust: &crate::hir::RustAggregateCall,
        method: &str,
        why: &str,
    ) {
        self.diagnostics.push(
            Diagnostic::error(
                Code::UnsupportedFunction,
                format!("the Rust aggregate function `{}` {why}, so it must {method}", a.function),
            )
            .at(rust.span, format!("needs `{method}`"))
            .with_help(format!("define `fn {method}` in `impl AggregateFunction for {}`", rust.path)),
        );
    }

    /// `add` (the update of aggregate `i`'s accumulator) under the call's FILTER, if any.
    #[allow(clippy::too_many_arguments)]
    fn filtered(
        &mut self,
        index: &str,
        i: usize,
        a: &crate::hir::AggregateCall,
        add: TokenStream,
        frame: &[TokenStream],
        branch: &Branch,
        code: &mut Vec<TokenStream>,
    ) -> TokenStream {
        let Some(f) = &a.filter else { return quote!(#add;) };
        let mut g = ExprGen { rows: &mut self.rows, frame };
        match g.expr(f) {
            Ok(c) => {
                let v = format_ident!("f{}_{}", index, i);
                code.push(quote!(let #v = rt::ops::is_true(#c);));
                quote!(if #v { #add; })
            }
            Err(what) => {
                self.error(branch.span, format!("cannot generate code for {what} yet"));
                quote!()
            }
        }
    }

    /// The row path of a GROUP BY without a window (step `step` of branch `b`): the group
    /// key and aggregate arguments applied to the operator (declared before the source
    /// loop) with the row's kind — over changes, a retraction undoes its row — and each
    /// change of the group's result runs the rest of the branch, with its kind, at once.
    pub(super) fn group_add(
        &mut self,
        b: usize,
        step: usize,
        g: &crate::plan::GroupAggregate,
        frame: &[TokenStream],
        branch: &Branch,
    ) -> TokenStream {
        let slot = format!("{b}_{step}");
        let (op, key_ty, acc_ty) =
            (format_ident!("group_{}", slot), format_ident!("KeyG{}", slot), format_ident!("AccG{}", slot));
        let group: Vec<Option<&crate::hir::Expr>> = g.group.iter().map(Some).collect();
        let retracting = self.updating_at(b, step);
        let (mut code, key_types, key_values, acc_types, updates, makes) =
            self.keyed_accumulators(&slot, &group, &g.aggregates, frame, branch, retracting);
        let name = op.to_string();
        let backend = self.backend_type();
        let declared = quote! {
            type #key_ty = (#(#key_types,)*);
            type #acc_ty = (#(#acc_types,)*);
            let mut #op: rt::GroupAggregate<#key_ty, #acc_ty, #backend> =
                rt::GroupAggregate::in_backend(&mut state, #name, || (#(#makes,)*))
                    .with_ttl(cx.state_ttl_ms()?, rt::time::epoch_ms);
        };
        self.keyed_operator(&op, &declared, &slot, &key_ty);
        self.stateful.setup.push(declared);
        let meter = self.meter(&op, &self.step_id(&slot), "group");
        // The output row: the group columns (from the key), then the aggregates' results.
        let mut bindings = Vec::new();
        let mut out_frame = Vec::new();
        for (k, e) in g.group.iter().enumerate() {
            let i = syn::Index::from(k);
            let v = format_ident!("og{}_{}", slot, k);
            let value = if matches!(e.ty.kind, TypeKind::Float | TypeKind::Double) {
                quote!(key.#i.map(|o| o.0))
            } else {
                quote!(key.#i.clone())
            };
            bindings.push(quote!(let #v = #value;));
            out_frame.push(quote!(#v));
        }
        // The results as a tuple of tuples of at most 8 (tuples compare only up to 12).
        let chunks: Vec<TokenStream> = (0..g.aggregates.len())
            .collect::<Vec<_>>()
            .chunks(8)
            .map(|chunk| {
                let items = chunk.iter().map(|&i| {
                    let i = syn::Index::from(i);
                    quote!(rt::agg::Accumulator::result(&acc.#i))
                });
                quote!((#(#items,)*))
            })
            .collect();
        let results = quote!((#(#chunks,)*));
        for i in 0..g.aggregates.len() {
            let (c, j) = (syn::Index::from(i / 8), syn::Index::from(i % 8));
            let v = format_ident!("og{}_{}", slot, g.group.len() + i);
            bindings.push(quote!(let #v = out.#c.#j;));
            out_frame.push(quote!(#v));
        }
        let rest = self.flow(b, step + 1, out_frame, false);
        let key = format_ident!("key_{}", slot);
        code.push(quote! {
            let #key: #key_ty = (#(#key_values,)*);
            #meter.row_in();
            #op.apply(
                kind,
                #key,
                |acc: &mut #acc_ty, retract: bool| { #(#updates)* },
                |acc: &#acc_ty| #results,
                |kind, key, out| -> rt::Result<()> {
                    #meter.row_out();
                    #(#bindings)*
                    #rest
                    Ok(())
                },
            )?;
        });
        quote!(#(#code)*)
    }

    /// The row path of a Top-N (step `step` of branch `b`): the row's partition key, sort
    /// key and the row itself added to the operator (declared before the source loop) —
    /// over changes, applied with their kind, all rows kept — and each change, the row with
    /// its rank, runs the rest of the branch at once. When nothing after it reads the rank,
    /// only rows entering and leaving the top are emitted.
    pub(super) fn top_n_add(
        &mut self,
        b: usize,
        step: usize,
        t: &crate::plan::TopN,
        frame: &[TokenStream],
        branch: &Branch,
    ) -> TokenStream {
        let slot = format!("{b}_{step}");
        let (op, key_ty, sort_ty, row_ty) = (
            format_ident!("top_{}", slot),
            format_ident!("KeyT{}", slot),
            format_ident!("SortT{}", slot),
            format_ident!("RowT{}", slot),
        );
        let mut code = Vec::new();
        let mut key_types = Vec::new();
        let mut key_values = Vec::new();
        for (i, e) in t.partition.iter().enumerate() {
            let ty = self.key_type(e, branch);
            let mut g = ExprGen { rows: &mut self.rows, frame };
            match g.expr(e) {
                Ok(c) => {
                    let v = format_ident!("tk{}_{}", slot, i);
                    let float = matches!(e.ty.kind, TypeKind::Float | TypeKind::Double);
                    code.push(if float { quote!(let #v = (#c).map(rt::agg::Ordered);) } else { quote!(let #v = #c;) });
                    key_types.push(quote!(Option<#ty>));
                    key_values.push(quote!(#v));
                }
                Err(what) => self.error(branch.span, format!("cannot generate code for {what} yet")),
            }
        }
        // Sort keys: (NULL placement, value) with the value reversed for DESC.
        let mut sort_types = Vec::new();
        let mut sort_values = Vec::new();
        for (i, k) in t.order.iter().enumerate() {
            let ty = self.key_type(&k.expr, branch);
            let mut g = ExprGen { rows: &mut self.rows, frame };
            match g.expr(&k.expr) {
                Ok(c) => {
                    let v = format_ident!("ts{}_{}", slot, i);
                    let float = matches!(k.expr.ty.kind, TypeKind::Float | TypeKind::Double);
                    let value = if float { quote!((#c).map(rt::agg::Ordered)) } else { c };
                    let null_rank: u8 = if k.nulls_first { 0 } else { 2 };
                    let (wrapped_ty, wrap) = if k.desc {
                        (quote!(Option<std::cmp::Reverse<#ty>>), quote!(x.map(std::cmp::Reverse)))
                    } else {
                        (quote!(Option<#ty>), quote!(x))
                    };
                    code.push(quote! {
                        let #v = {
                            let x = #value;
                            (if x.is_none() { #null_rank } else { 1u8 }, #wrap)
                        };
                    });
                    sort_types.push(quote!((u8, #wrapped_ty)));
                    sort_values.push(quote!(#v));
                }
                Err(what) => self.error(branch.span, format!("cannot generate code for {what} yet")),
            }
        }
        let row_types: Vec<TokenStream> = t.input.iter().map(|ty| self.rows.rust(ty, "value")).collect();
        let row: Vec<TokenStream> = frame.iter().map(|v| quote!(#v.clone())).collect();
        let name = op.to_string();
        let backend = self.backend_type();
        let limit = t.limit as usize;
        let retracting = self.updating_at(b, step);
        let mode = if retracting { quote!(.retracting()) } else { quote!() };
        let row_def = row_struct(&row_ty, &row_types);
        let declared = quote! {
            type #key_ty = (#(#key_types,)*);
            type #sort_ty = (#(#sort_types,)*);
            #row_def
            let mut #op: rt::TopN<#key_ty, #sort_ty, #row_ty, #backend> =
                rt::TopN::in_backend(&mut state, #name, #limit)#mode.with_ttl(cx.state_ttl_ms()?, rt::time::epoch_ms);
        };
        self.keyed_operator(&op, &declared, &slot, &key_ty);
        self.stateful.setup.push(declared);
        let meter = self.meter(&op, &self.step_id(&slot), "top-n");
        // The output: the row's columns, then its rank.
        let mut bindings = Vec::new();
        let mut out_frame = Vec::new();
        for i in 0..t.input.len() {
            let (column, v) = (syn::Index::from(i), format_ident!("ot{}_{}", slot, i));
            bindings.push(quote!(let #v = row.#column.clone();));
            out_frame.push(quote!(#v));
        }
        let rank = format_ident!("ot{}_{}", slot, t.input.len());
        bindings.push(quote!(let #rank = Some(rank as i64);));
        out_frame.push(quote!(#rank));
        let ranks = self.lives.get(b).and_then(|l| l.get(step)).and_then(|l| l.last().copied()).unwrap_or(true);
        let rest = self.flow(b, step + 1, out_frame, false);
        // In a task's second stage, the rows of a window the first stage's workers fire
        // come from each of them: it is ranked once the watermark has passed it — unless
        // a window of the second stage fires them (then ranked after it fired).
        let from_stage = self.stage == super::Stage::Second
            && branch.from == crate::plan::Origin::Input
            && !branch.steps[..step].iter().any(|s| matches!(s, Step::WindowAggregate(_)));
        if t.windowed {
            let emit = quote! {
                |kind, row, rank| -> rt::Result<()> {
                    #meter.row_out();
                    #(#bindings)*
                    #rest
                    Ok(())
                }
            };
            match t.window_end.filter(|_| from_stage) {
                Some(end) => {
                    let end = syn::Index::from(end);
                    let closed = quote!(|key: &#key_ty| key.#end.as_ref().is_none_or(|end| end.millis() - 1 <= limit));
                    self.closing.push(quote!(#op.flush_closed(#closed, #emit)?;));
                }
                // Ranked once the window operator firing the rows has given them all.
                None => self.flushes.push(quote!(#op.flush(#emit)?;)),
            }
            code.push(quote! {
                #meter.row_in();
                #op.add_windowed((#(#key_values,)*), (#(#sort_values,)*), #row_ty(#(#row,)*));
            });
            return quote!(#(#code)*);
        }
        let (call, kind) = if retracting { (quote!(apply), quote!(kind,)) } else { (quote!(add), quote!()) };
        code.push(quote! {
            #meter.row_in();
            #op.#call(
                #kind
                (#(#key_values,)*),
                (#(#sort_values,)*),
                #row_ty(#(#row,)*),
                #ranks,
                |kind, row, rank| -> rt::Result<()> {
                    #meter.row_out();
                    #(#bindings)*
                    #rest
                    Ok(())
                },
            )?;
        });
        quote!(#(#code)*)
    }

    /// The declarations of OVER aggregate `slot` (its key, accumulator and row types, the
    /// function adding or retracting a kept row, the operator), its key over `frame`, and
    /// the frame of its output (the row's columns, then the aggregates) over `row`/`acc`.
    #[allow(clippy::type_complexity)]
    fn over_parts(
        &mut self,
        slot: &str,
        o: &crate::plan::Over,
        frame: &[TokenStream],
        branch: &Branch,
    ) -> (Vec<TokenStream>, TokenStream, Vec<TokenStream>) {
        let (op, key_ty, acc_ty, row_ty, update) = (
            format_ident!("over_{}", slot),
            format_ident!("KeyO{}", slot),
            format_ident!("AccO{}", slot),
            format_ident!("RowO{}", slot),
            format_ident!("over_update_{}", slot),
        );
        let mut code = Vec::new();
        let mut key_types = Vec::new();
        let mut key_values = Vec::new();
        for (i, e) in o.partition.iter().enumerate() {
            let ty = self.key_type(e, branch);
            let mut g = ExprGen { rows: &mut self.rows, frame };
            match g.expr(e) {
                Ok(c) => {
                    let v = format_ident!("ok{}_{}", slot, i);
                    let float = matches!(e.ty.kind, TypeKind::Float | TypeKind::Double);
                    code.push(if float { quote!(let #v = (#c).map(rt::agg::Ordered);) } else { quote!(let #v = #c;) });
                    key_types.push(quote!(Option<#ty>));
                    key_values.push(quote!(#v));
                }
                Err(what) => self.error(branch.span, format!("cannot generate code for {what} yet")),
            }
        }
        // The accumulators read the kept row's columns; bounded frames retract rows.
        let row_frame: Vec<TokenStream> = (0..o.input.len())
            .map(|i| {
                let i = syn::Index::from(i);
                quote!(row.#i)
            })
            .collect();
        let retracting = o.preceding.is_some();
        let (args, _, _, acc_types, updates, makes) =
            self.keyed_accumulators(&format!("o{slot}"), &[], &o.aggregates, &row_frame, branch, retracting);
        let row_types: Vec<TokenStream> = o.input.iter().map(|ty| self.rows.rust(ty, "value")).collect();
        let row_def = row_struct(&row_ty, &row_types);
        let frame_of = match (o.rows, o.preceding) {
            (true, Some(n)) => {
                let n = n.max(0) as u64;
                quote!(rt::OverFrame::Rows(#n))
            }
            (true, None) => quote!(rt::OverFrame::Rows(u64::MAX)),
            (false, Some(ms)) => quote!(rt::OverFrame::Range(#ms)),
            (false, None) => quote!(rt::OverFrame::Range(i64::MAX)),
        };
        let name = op.to_string();
        let backend = self.backend_type();
        let declared = quote! {
            type #key_ty = (#(#key_types,)*);
            type #acc_ty = (#(#acc_types,)*);
            #row_def
            fn #update(acc: &mut #acc_ty, row: &#row_ty, retract: bool) {
                #(#args)*
                #(#updates)*
            }
            let mut #op: rt::OverAggregate<#key_ty, #row_ty, #acc_ty, #backend> =
                rt::OverAggregate::in_backend(&mut state, #name, #frame_of, || (#(#makes,)*))
                    .with_ttl(cx.state_ttl_ms()?, rt::time::epoch_ms);
        };
        self.keyed_operator(&op, &declared, slot, &key_ty);
        self.stateful.setup.push(declared);
        self.meter(&op, &self.step_id(slot), "over");
        let values = frame.iter().map(|v| quote!(#v.clone()));
        code.push(quote!(let over_key: #key_ty = (#(#key_values,)*);));
        code.push(quote!(let over_row = #row_ty(#(#values,)*);));
        let mut out = Vec::new();
        for i in 0..o.input.len() {
            let (column, v) = (syn::Index::from(i), format_ident!("ov{}_{}", slot, i));
            out.push((quote!(let #v = row.#column.clone();), quote!(#v)));
        }
        for i in 0..o.aggregates.len() {
            let (column, v) = (syn::Index::from(i), format_ident!("ov{}_{}", slot, o.input.len() + i));
            out.push((quote!(let #v = rt::agg::Accumulator::result(&acc.#column);), quote!(#v)));
        }
        let (bindings, out_frame): (Vec<TokenStream>, Vec<TokenStream>) = out.into_iter().unzip();
        (code, quote!(#(#bindings)*), out_frame)
    }

    /// The row path of OVER aggregates (step `step` of branch `b`): the row kept for its
    /// partition until the watermark passes its time (a row behind it is late), or — by
    /// processing time — aggregated over its frame at once, running the rest of the branch.
    pub(super) fn over_add(
        &mut self,
        b: usize,
        step: usize,
        o: &crate::plan::Over,
        frame: &[TokenStream],
        branch: &Branch,
    ) -> TokenStream {
        let slot = format!("{b}_{step}");
        let (mut code, bindings, out_frame) = self.over_parts(&slot, o, frame, branch);
        let (op, update) = (format_ident!("over_{}", slot), format_ident!("over_update_{}", slot));
        let time = &frame[o.time_column];
        let meter = format_ident!("meter_{}", op);
        code.push(quote!(#meter.row_in();));
        if o.proctime {
            let rest = self.flow(b, step + 1, out_frame, false);
            code.push(quote! {
                let now = #time.as_ref().map(|t| t.millis()).unwrap_or_else(rt::time::epoch_ms);
                #op.add_now(over_key, now, over_row, #update, |row, acc| -> rt::Result<()> {
                    #meter.row_out();
                    #bindings
                    #rest
                    Ok(())
                })?;
            });
        } else {
            code.push(quote! {
                let on_time = match #time.as_ref() {
                    Some(t) => #op.add(over_key, t.millis(), over_row),
                    None => false,
                };
                if !on_time {
                    cx.counters.late.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            });
        }
        quote!(#(#code)*)
    }

    /// The firing side of event-time OVER aggregates: every row the watermark passed, in
    /// time order per partition, with the aggregates of its frame, through the rest of the
    /// branch.
    pub(super) fn over_fire(&mut self, b: usize, step: usize, o: &crate::plan::Over) -> TokenStream {
        let slot = format!("{b}_{step}");
        let (op, update) = (format_ident!("over_{}", slot), format_ident!("over_update_{}", slot));
        let mut bindings = Vec::new();
        let mut out_frame = Vec::new();
        for i in 0..o.input.len() {
            let (column, v) = (syn::Index::from(i), format_ident!("ov{}_{}", slot, i));
            bindings.push(quote!(let #v = row.#column.clone();));
            out_frame.push(quote!(#v));
        }
        for i in 0..o.aggregates.len() {
            let (column, v) = (syn::Index::from(i), format_ident!("ov{}_{}", slot, o.input.len() + i));
            bindings.push(quote!(let #v = rt::agg::Accumulator::result(&acc.#column);));
            out_frame.push(quote!(#v));
        }
        let rest = self.flow(b, step + 1, out_frame, false);
        let flushes = std::mem::take(&mut self.flushes);
        let meter = format_ident!("meter_{}", op);
        quote! {
            #op.advance(limit, #update, |row, acc| -> rt::Result<()> {
                #meter.row_out();
                let kind = rt::RowKind::Insert;
                #(#bindings)*
                #rest
                Ok(())
            })?;
            #(#flushes)*
        }
    }

    /// The row path of a window aggregation: the row's event time, group key and
    /// aggregate arguments, added to the operator (declared, with its key and accumulator
    /// types, before the source loop). Rows whose windows have all fired are counted late.
    pub(super) fn window_add(
        &mut self,
        slot: &str,
        w: &WindowAggregate,
        frame: &[TokenStream],
        branch: &Branch,
        source_row: bool,
    ) -> TokenStream {
        let index = slot;
        let (op, key_ty, acc_ty) =
            (format_ident!("window_{}", slot), format_ident!("Key{}", slot), format_ident!("Acc{}", slot));
        let group: Vec<Option<&crate::hir::Expr>> = w.group.iter().map(|g| g.as_ref().ok()).collect();
        let (mut code, key_types, key_values, acc_types, updates, makes) =
            self.keyed_accumulators(slot, &group, &w.aggregates, frame, branch, false);
        let kind = match &w.windows {
            Windows::Assigned(kind) => Some(kind),
            Windows::Given { .. } => None,
        };
        let windows = match kind {
            None => quote!(rt::Windows::Given),
            Some(crate::hir::WindowKind::Tumble { size_ms, offset_ms }) => {
                quote!(rt::Windows::Tumble { size: #size_ms, offset: #offset_ms })
            }
            Some(crate::hir::WindowKind::Hop { slide_ms, size_ms, offset_ms }) => {
                quote!(rt::Windows::Hop { slide: #slide_ms, size: #size_ms, offset: #offset_ms })
            }
            Some(crate::hir::WindowKind::Cumulate { step_ms, size_ms, offset_ms }) => {
                quote!(rt::Windows::Cumulate { step: #step_ms, size: #size_ms, offset: #offset_ms })
            }
            Some(crate::hir::WindowKind::Session { .. }) => quote!(()),
        };
        let name = op.to_string();
        let b = self.backend_type();
        let operator = match kind {
            Some(crate::hir::WindowKind::Session { gap_ms, .. }) => {
                for a in &w.aggregates {
                    if let Some(rust) = a.rust.as_ref().filter(|r| !r.merges) {
                        self.rust_aggregate_lacks(a, rust, "merge", "is in a SESSION window, which merges sessions");
                    }
                }
                let merges = (0..w.aggregates.len()).map(syn::Index::from).map(|i| quote!(a.#i.merge(&b.#i);));
                quote! {
                    let mut #op: rt::SessionAggregate<#key_ty, #acc_ty, #b> = rt::SessionAggregate::in_backend(
                        &mut state,
                        #name,
                        #gap_ms,
                        |a: &mut #acc_ty, b: &#acc_ty| { #(#merges)* },
                        || (#(#makes,)*),
                    );
                }
            }
            // Overlapping windows share slices, merged when a window fires, unless an
            // aggregate's merge depends on arrival order.
            Some(crate::hir::WindowKind::Hop { .. } | crate::hir::WindowKind::Cumulate { .. })
                if !w.aggregates.iter().any(|a| {
                    matches!(a.function.as_str(), "FIRST_VALUE" | "LAST_VALUE")
                        || a.rust.as_ref().is_some_and(|r| !r.merges)
                }) =>
            {
                let merges = (0..w.aggregates.len()).map(syn::Index::from).map(|i| quote!(a.#i.merge(&b.#i);));
                quote! {
                    let mut #op: rt::WindowAggregate<#key_ty, #acc_ty, #b> = rt::WindowAggregate::in_backend(
                        &mut state,
                        #name,
                        #windows,
                        || (#(#makes,)*),
                        Some(|a: &mut #acc_ty, b: &#acc_ty| { #(#merges)* }),
                    );
                }
            }
            _ => quote! {
                let mut #op: rt::WindowAggregate<#key_ty, #acc_ty, #b> =
                    rt::WindowAggregate::in_backend(&mut state, #name, #windows, || (#(#makes,)*), None);
            },
        };
        let declared = quote! {
            type #key_ty = (#(#key_types,)*);
            type #acc_ty = (#(#acc_types,)*);
            #operator
        };
        self.keyed_operator(&op, &declared, slot, &key_ty);
        self.stateful.setup.push(declared);
        let meter = self.meter(&op, &self.step_id(index), "window");
        let time = &frame[w.time_column];
        let key = format_ident!("key_{}", index);
        let late_write = if source_row { self.late_write(branch) } else { quote!() };
        let (bind, add) = match w.windows {
            // The row's own window: its start and end columns.
            Windows::Given { start, end } => {
                let (s, e) = (&frame[start], &frame[end]);
                (
                    quote!(let (Some(s), Some(e)) = (#s.as_ref(), #e.as_ref())),
                    quote!(#op.add_to(rt::time::Window::new(s.millis(), e.millis()), #key, |acc: &mut #acc_ty| { #(#updates)* })),
                )
            }
            Windows::Assigned(_) => (
                quote!(let Some(ts) = #time.as_ref().map(|t| t.millis())),
                quote!(#op.add(ts, #key, |acc: &mut #acc_ty| { #(#updates)* })),
            ),
        };
        code.push(quote! {
            let #key: #key_ty = (#(#key_values,)*);
            #meter.row_in();
            if #bind {
                if !#add {
                    cx.counters.late.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    #late_write
                }
            }
        });
        quote!(#(#code)*)
    }

    /// Writes a late row, unchanged (the source row's columns by name) and with its reason,
    /// to the late-data table when there is one.
    pub(super) fn late_write(&mut self, branch: &Branch) -> TokenStream {
        let (Some(late), Some(source)) = (self.late_sink, self.source) else { return quote!() };
        let program = self.program;
        let (t, src) = (&program.tables[late.0], &program.tables[source.0]);
        let ws = sink_struct(t);
        // The INSERTs whose windows the row missed: this branch's and those sharing them.
        let mut tables = vec![branch.table];
        for b in &self.branches {
            if matches!(b.from, Origin::Window { branch, .. } if branch == self.current) && !tables.contains(&b.table) {
                tables.push(b.table);
            }
        }
        let sink = tables.iter().map(|t| program.tables[t.0].name.as_str()).collect::<Vec<_>>().join("`, `");
        let reason = match (&branch.target, branch.steps.iter().any(|s| matches!(s, Step::WindowAggregate(_)))) {
            (Target::Join { .. }, false) => {
                format!("late for the window join of `{sink}`: the watermark had passed the window")
            }
            _ => format!("late for the windows of `{sink}`: the watermark had passed them"),
        };
        let mut inits = Vec::new();
        for (k, c) in t.columns.iter().filter(|c| is_writable(&c.kind)).enumerate() {
            let f = field_ident(&c.name, k);
            let value = match src.columns.iter().position(|s| s.name == c.name) {
                Some(i) => {
                    let sf = field_ident(&src.columns[i].name, i);
                    let mut g = ExprGen { rows: &mut self.rows, frame: &[] };
                    match g.cast(quote!(row.#sf.clone()), &src.columns[i].ty, &c.ty, false) {
                        Ok(v) => v,
                        Err(what) => {
                            self.error(t.span, format!("late-data column `{}`: cannot convert {what}", c.name));
                            quote!(None)
                        }
                    }
                }
                None if c.name == "late_reason" && c.ty.is_string() => quote!(Some(rt::Str::new_static(#reason))),
                None => {
                    if !c.ty.nullable {
                        self.error(
                            t.span,
                            format!(
                                "late-data table `{}` has NOT NULL column `{}`, which `{}` does not have",
                                t.name, c.name, src.name
                            ),
                        );
                    }
                    quote!(None)
                }
            };
            inits.push(quote!(#f: #value));
        }
        quote!(out_late.write(#ws { #(#inits),* })?;)
    }

    /// The emit side of a window aggregation: bindings for its output columns (group
    /// keys, window bounds, aggregate results) and the frame naming them.
    pub(super) fn window_output(&mut self, index: &str, w: &WindowAggregate) -> (Vec<TokenStream>, Vec<TokenStream>) {
        let mut code = Vec::new();
        let mut frame = Vec::new();
        let mut column = 0usize;
        let mut bind = |code: &mut Vec<TokenStream>, frame: &mut Vec<TokenStream>, value: TokenStream| {
            let v = format_ident!("o{}_{}", index, column);
            column += 1;
            code.push(quote!(let #v = #value;));
            frame.push(quote!(#v));
        };
        let bound = |b: Bound| match b {
            Bound::Start => quote!(Some(w.start_timestamp())),
            Bound::End => quote!(Some(w.end_timestamp())),
            Bound::Time => quote!(Some(w.time_timestamp())),
        };
        let mut k = 0usize;
        for g in &w.group {
            match g {
                Ok(e) => {
                    let slot = syn::Index::from(k);
                    k += 1;
                    let value = if matches!(e.ty.kind, TypeKind::Float | TypeKind::Double) {
                        quote!(key.#slot.map(|o| o.0))
                    } else {
                        quote!(key.#slot.clone())
                    };
                    bind(&mut code, &mut frame, value);
                }
                Err(b) => bind(&mut code, &mut frame, bound(*b)),
            }
        }
        if w.legacy {
            for b in [Bound::Start, Bound::End, Bound::Time] {
                bind(&mut code, &mut frame, bound(b));
            }
        }
        for i in 0..w.aggregates.len() {
            let slot = syn::Index::from(i);
            bind(&mut code, &mut frame, quote!(rt::agg::Accumulator::result(&acc.#slot)));
        }
        (code, frame)
    }
}

/// A row an operator keeps, as a tuple struct of `Option` columns (serde derives tuples
/// of at most 16 elements; rows may be wider), accessed like a tuple (`row.0`).
fn row_struct(name: &proc_macro2::Ident, columns: &[TokenStream]) -> TokenStream {
    quote! {
        #[derive(Debug, Clone, Default, PartialEq, ::dfl::__private::serde::Serialize, ::dfl::__private::serde::Deserialize)]
        #[serde(crate = "::dfl::__private::serde")]
        struct #name(#(Option<#columns>,)*);
    }
}
