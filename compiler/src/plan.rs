//! `plan`: the resolved program → the dataflow the pipeline runs. Each table that is read
//! becomes a source task; every INSERT becomes one or more branches (one per input of a
//! UNION ALL), each a chain of stateless steps — filters and projections — fused into the
//! task of the source it reads, ending in a sink table.
//!
//! Operators that keep state (windows, aggregates, joins, ranking, sorting) are not
//! compiled yet: a query that needs one is refused here with [`Code::NotYetCompiled`].

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::hir::{self, Expr, Program, Rel, RelKind, TableId};

/// What a task reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A table's connector.
    Table(TableId),
    /// Constant rows (`VALUES`, `SELECT` without FROM).
    Values(Vec<Vec<Expr>>),
}

/// A step of a branch: stateless ones are fused into the task's per-row code; a window
/// aggregate keeps state and emits when the watermark passes (window aggregates may chain).
#[derive(Debug, Clone)]
pub enum Step {
    Filter(Expr),
    Project(Vec<Expr>),
    WindowAggregate(WindowAggregate),
}

/// Which bound of the window a group column is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Start,
    End,
    Time,
}

/// `GROUP BY …, window_start, window_end` over a window TVF, or a legacy group window.
/// Its output: one column per `group` entry, then (legacy) start, end and time, then one
/// column per aggregate.
#[derive(Debug, Clone)]
pub struct WindowAggregate {
    pub windows: hir::WindowKind,
    /// The event-time column in the input.
    pub time_column: usize,
    /// Group keys over the input, or a window bound.
    pub group: Vec<Result<Expr, Bound>>,
    pub aggregates: Vec<hir::AggregateCall>,
    /// Legacy `GROUP BY TUMBLE(…)`: start, end and time follow the group columns.
    pub legacy: bool,
    /// Windows of processing time (the time column is a `PROCTIME()`), fired by the clock.
    pub proctime: bool,
}

/// A chain from a task's input to a sink.
#[derive(Debug, Clone)]
pub struct Branch {
    pub steps: Vec<Step>,
    pub sink: TableId,
    /// The sink columns the chain's output columns go to, in order.
    pub columns: Vec<usize>,
    /// The types of the chain's output.
    pub output: Vec<crate::types::Type>,
    /// The INSERT it comes from.
    pub span: crate::span::Span,
}

/// One thread's work: an input and the branches fed from it.
#[derive(Debug, Clone)]
pub struct Task {
    pub input: Input,
    pub branches: Vec<Branch>,
}

/// The whole dataflow.
#[derive(Debug, Clone, Default)]
pub struct Pipeline {
    pub tasks: Vec<Task>,
    /// Every table written, in first-use order.
    pub sinks: Vec<TableId>,
    /// Where rows too late for their windows go (`SET 'pipeline.late-data.sink'`), instead
    /// of only being counted.
    pub late_sink: Option<TableId>,
}

/// The setting naming the late-data table.
pub const LATE_SINK_SETTING: &str = "pipeline.late-data.sink";

/// Builds the dataflow of a resolved program; refuses what cannot be compiled yet.
pub fn plan(program: &Program) -> Result<Pipeline, Diagnostics> {
    let mut diagnostics = Diagnostics::default();
    let mut pipeline = Pipeline::default();
    for insert in &program.inserts {
        let mut paths = Vec::new();
        if let Err(d) = flatten(&insert.query, Vec::new(), &mut paths) {
            diagnostics.push(d);
            continue;
        }
        if !pipeline.sinks.contains(&insert.table) {
            pipeline.sinks.push(insert.table);
        }
        let output: Vec<_> = insert.query.schema.iter().map(|f| f.ty.clone()).collect();
        for (input, steps) in paths {
            let branch = Branch {
                steps,
                sink: insert.table,
                columns: insert.columns.clone(),
                output: output.clone(),
                span: insert.span,
            };
            match pipeline.tasks.iter_mut().find(|t| t.input == input && matches!(input, Input::Table(_))) {
                Some(task) => task.branches.push(branch),
                None => pipeline.tasks.push(Task { input, branches: vec![branch] }),
            }
        }
    }
    let windowed = pipeline
        .tasks
        .iter()
        .flat_map(|t| &t.branches)
        .any(|b| b.steps.iter().any(|s| matches!(s, Step::WindowAggregate(_))));
    if let (Some(name), true) = (program.settings.get(LATE_SINK_SETTING), windowed) {
        match program.tables.iter().position(|t| &t.name == name) {
            Some(i) => {
                pipeline.late_sink = Some(TableId(i));
                if !pipeline.sinks.contains(&TableId(i)) {
                    pipeline.sinks.push(TableId(i));
                }
            }
            None => diagnostics.push(
                Diagnostic::error(Code::UnknownTable, format!("'{LATE_SINK_SETTING}' names `{name}`, which is not a table of this file"))
                    .with_help("define the late-data table with CREATE TABLE: the source's columns (by name) and optionally `late_reason STRING`"),
            ),
        }
    }
    if diagnostics.has_errors() { Err(diagnostics) } else { Ok(pipeline) }
}

/// The paths from inputs to `rel`'s output: each an input and the steps after it.
fn flatten(rel: &Rel, after: Vec<Step>, out: &mut Vec<(Input, Vec<Step>)>) -> Result<(), Diagnostic> {
    let then = |step: Step| -> Vec<Step> { std::iter::once(step).chain(after.iter().cloned()).collect() };
    match &rel.kind {
        RelKind::Scan { table, .. } => out.push((Input::Table(*table), after)),
        RelKind::Values { rows } => {
            // Every row's values take the column's (common) type.
            let rows = rows
                .iter()
                .map(|row| row.iter().zip(&rel.schema).map(|(e, f)| converted(e, &f.ty)).collect())
                .collect();
            out.push((Input::Values(rows), after))
        }
        RelKind::Filter { input, predicate } => flatten(input, then(Step::Filter(predicate.clone())), out)?,
        RelKind::Project { input, exprs } => flatten(input, then(Step::Project(exprs.clone())), out)?,
        RelKind::Union { inputs } => {
            for i in inputs {
                // Each input's columns are brought to the union's (widened) types.
                let widen = i.schema.iter().zip(&rel.schema).any(|(a, b)| a.ty.kind != b.ty.kind);
                let steps = if widen {
                    let exprs = i
                        .schema
                        .iter()
                        .zip(&rel.schema)
                        .enumerate()
                        .map(|(k, (a, b))| converted(&Expr::column(k, a.ty.clone()), &b.ty))
                        .collect();
                    std::iter::once(Step::Project(exprs)).chain(after.iter().cloned()).collect()
                } else {
                    after.clone()
                };
                flatten(i, steps, out)?;
            }
        }
        RelKind::Aggregate(a) => {
            if let Some((step, input)) = window_aggregate(a) {
                return flatten(input, std::iter::once(Step::WindowAggregate(step)).chain(after).collect(), out);
            }
            return Err(not_yet(rel));
        }
        _ => return Err(not_yet(rel)),
    }
    Ok(())
}

/// A window aggregation this release compiles: TUMBLE, HOP or CUMULATE (as a TVF grouped
/// by its start and end, or a legacy group window), over a stateless input.
fn window_aggregate(a: &hir::Aggregate) -> Option<(WindowAggregate, &Rel)> {
    let time_bound = |c: usize, width: usize| -> Option<Bound> {
        match c.checked_sub(width) {
            Some(0) => Some(Bound::Start),
            Some(1) => Some(Bound::End),
            Some(2) => Some(Bound::Time),
            _ => None,
        }
    };
    // A session TVF's sessions are per partition key: grouped by exactly those keys (and the
    // window), they coincide with the operator's per-group sessions.
    let sessions_match = |w: &hir::WindowKind, group: &[Result<Expr, Bound>]| match w {
        hir::WindowKind::Session { partition_by, .. } => {
            let mut keys: Vec<usize> = group
                .iter()
                .filter_map(|g| match g {
                    Ok(Expr { kind: hir::ExprKind::Column(c), .. }) => Some(*c),
                    _ => None,
                })
                .collect();
            let mut parts = partition_by.clone();
            keys.sort_unstable();
            parts.sort_unstable();
            keys == parts && group.iter().filter(|g| g.is_ok()).count() == parts.len()
        }
        _ => true,
    };
    match (&a.windowing, &a.input.kind) {
        (hir::Windowing::Tvf { .. }, RelKind::Window { input, window, time_column }) => {
            let width = input.schema.len();
            let mut group = Vec::new();
            for g in &a.group_by {
                match &g.kind {
                    hir::ExprKind::Column(c) if *c >= width => group.push(Err(time_bound(*c, width)?)),
                    _ => {
                        let mut cols = Vec::new();
                        g.columns(&mut cols);
                        if cols.iter().any(|c| *c >= width) {
                            return None;
                        }
                        group.push(Ok(g.clone()));
                    }
                }
            }
            let mut cols = Vec::new();
            for c in &a.aggregates {
                c.args.iter().chain(&c.filter).for_each(|e| e.columns(&mut cols));
            }
            if cols.iter().any(|c| *c >= width) {
                return None;
            }
            if !sessions_match(window, &group) {
                return None;
            }
            let step = WindowAggregate {
                windows: window.clone(),
                time_column: *time_column,
                group,
                aggregates: a.aggregates.clone(),
                legacy: false,
                proctime: input.schema.get(*time_column).and_then(|f| f.time) == Some(hir::TimeAttribute::Proctime),
            };
            Some((step, input))
        }
        (hir::Windowing::Group { window, time_column }, _) => {
            let step = WindowAggregate {
                windows: window.clone(),
                time_column: *time_column,
                group: a.group_by.iter().cloned().map(Ok).collect(),
                aggregates: a.aggregates.clone(),
                legacy: true,
                proctime: a.input.schema.get(*time_column).and_then(|f| f.time) == Some(hir::TimeAttribute::Proctime),
            };
            Some((step, &a.input))
        }
        _ => None,
    }
}

fn not_yet(rel: &Rel) -> Diagnostic {
    let what = match &rel.kind {
        RelKind::Window { .. } => "a window table function outside a window aggregation",
        RelKind::Aggregate(a) if a.aggregates.is_empty() => "DISTINCT / GROUP BY without a window",
        RelKind::Aggregate(a) if a.windowing != hir::Windowing::None => {
            "this window aggregation (a SESSION window grouped by other keys than its PARTITION BY, or one over another stateful operator)"
        }
        RelKind::Aggregate(_) => "an aggregation without a window",
        RelKind::Join(_) => "a join",
        RelKind::Over { .. } => "an OVER aggregate or ranking",
        _ => "ORDER BY / LIMIT",
    };
    Diagnostic::error(
        Code::NotYetCompiled,
        format!("this query needs {what}, which `dflc build` cannot generate code for yet"),
    )
    .at(rel.span, "needs state")
    .with_help("`dflc check` accepts the query; these operators arrive with the next releases")
}

/// One step as `explain` shows it.
fn step_text(step: &Step) -> String {
    match step {
        Step::Filter(e) => format!("filter  {e}"),
        Step::Project(es) => {
            let list: Vec<String> = es.iter().map(ToString::to_string).collect();
            format!("project {}", list.join(", "))
        }
        Step::WindowAggregate(w) => {
            let keys: Vec<String> = w
                .group
                .iter()
                .map(|g| match g {
                    Ok(e) => e.to_string(),
                    Err(b) => format!("{b:?}").to_lowercase(),
                })
                .collect();
            let aggs: Vec<String> = w
                .aggregates
                .iter()
                .map(|a| {
                    let args: Vec<String> = a.args.iter().map(ToString::to_string).collect();
                    format!("{}({}{})", a.function, if a.distinct { "DISTINCT " } else { "" }, args.join(", "))
                })
                .collect();
            format!(
                "window  {:?} on ${} key [{}] aggregate [{}]",
                w.windows,
                w.time_column,
                keys.join(", "),
                aggs.join(", ")
            )
        }
    }
}

/// `e` as a value of `ty` (an implicit conversion, when the types differ).
fn converted(e: &Expr, ty: &crate::types::Type) -> Expr {
    if e.ty.kind == ty.kind {
        return e.clone();
    }
    Expr { kind: hir::ExprKind::Cast { expr: Box::new(e.clone()), try_: false }, ty: ty.clone() }
}

/// The physical plan as users read it (`dflc explain`): tasks with table names,
/// connectors, fused steps and the state each operator keeps (none yet).
pub fn explain(program: &Program, pipeline: &Pipeline) -> String {
    let name = |t: TableId| -> String {
        let table: &hir::Table = &program.tables[t.0];
        format!("{} [{}]", table.name, table.connector)
    };
    let mut out = String::new();
    for (i, task) in pipeline.tasks.iter().enumerate() {
        match &task.input {
            Input::Table(t) => out.push_str(&format!("task {i}: read {}\n", name(*t))),
            Input::Values(rows) => out.push_str(&format!("task {i}: {} constant row(s)\n", rows.len())),
        }
        for (b, branch) in task.branches.iter().enumerate() {
            let kind = if branch.steps.iter().any(|s| matches!(s, Step::WindowAggregate(_))) {
                "fused, keyed window state freed by the watermark"
            } else {
                "fused, stateless"
            };
            out.push_str(&format!("  branch {b}: {kind}\n"));
            for step in &branch.steps {
                out.push_str(&format!("    {}\n", step_text(step)));
            }
            out.push_str(&format!("    write   {}\n", name(branch.sink)));
        }
    }
    out
}
