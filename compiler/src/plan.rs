//! `plan`: the resolved program → the dataflow the pipeline runs. Each table that is read
//! becomes a source task; every INSERT becomes one or more branches (one per input of a
//! UNION ALL), each a chain of steps — filters, projections, window aggregations, GROUP BY
//! without a window and Top-N, in any order and number — fused into the task of the source
//! it reads, ending in a sink table or in one side of a join (window or regular), whose
//! output continues in a branch of its own. Changes (retractions) flow through GROUP BY,
//! Top-N and regular joins; windows take appended rows only, as in Flink.
//!
//! Operators that need more (interval and temporal joins, OVER aggregates, sorting, joins
//! across sources) are refused here with [`Code::NotYetCompiled`].

use crate::ast::JoinKind;
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::hir::{self, Expr, Program, Rel, RelKind, TableId};

/// What a task reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A table's connector.
    Table(TableId),
    /// Two tables' connectors, read by one task because a join needs rows of both: the
    /// first's rows start branches from [`Origin::Input`], the second's from
    /// [`Origin::Second`].
    Tables(TableId, TableId),
    /// Constant rows (`VALUES`, `SELECT` without FROM).
    Values(Vec<Vec<Expr>>),
    /// The output rows (of these column types) of the window aggregation that ends the
    /// first stage of a task run N-wide in two stages, merged from its workers (see
    /// [`crate::parallel::stage_plan`]; only in the tasks code generation makes).
    Stage(Vec<crate::types::Type>),
}

/// A step of a branch: stateless ones are fused into the task's per-row code; a window
/// aggregate keeps state and emits when the watermark passes (window aggregates may chain).
#[derive(Debug, Clone)]
pub enum Step {
    Filter(Expr),
    Project(Vec<Expr>),
    WindowAggregate(WindowAggregate),
    /// A GROUP BY without a window over appended rows: its output (the group columns, then
    /// one column per aggregate) is an updating result, emitted as each row changes it.
    Aggregate(GroupAggregate),
    /// The best N rows per partition (`ROW_NUMBER() OVER (PARTITION BY … ORDER BY …)`
    /// filtered by rank): its output, the input's columns and the rank, is an updating
    /// result.
    TopN(TopN),
    /// A lookup join: each row joined with the rows of a bounded table that match its key
    /// at that moment; the output is the input's columns, then the table's.
    Lookup(Lookup),
    /// OVER aggregates: each row with the aggregates of its frame (the rows before it in
    /// its partition, in time order); the output is the input's columns, then one per
    /// aggregate, and only appends.
    Over(Over),
}

/// `agg(…) OVER (PARTITION BY … ORDER BY time ROWS|RANGE BETWEEN … PRECEDING AND CURRENT
/// ROW)`, every call over the same window.
#[derive(Debug, Clone)]
pub struct Over {
    pub partition: Vec<Expr>,
    /// The time attribute the rows are ordered by.
    pub time_column: usize,
    /// Ordered by processing time (rows go at once, in arrival order).
    pub proctime: bool,
    /// `ROWS n` (`rows`) or `RANGE` of ms `preceding`; `None`: unbounded.
    pub rows: bool,
    pub preceding: Option<i64>,
    pub aggregates: Vec<hir::AggregateCall>,
    /// The input's column types (the row kept).
    pub input: Vec<crate::types::Type>,
}

/// `JOIN t FOR SYSTEM_TIME AS OF l.proc_time AS r ON l.k = r.k …` against a table read
/// whole when the task starts.
#[derive(Debug, Clone)]
pub struct Lookup {
    pub table: TableId,
    /// `Inner` or `Left` (a row without a match goes on with NULLs).
    pub kind: JoinKind,
    /// Equality keys: an expression over the input's columns and one over the table's
    /// columns, both of the key's common type.
    pub keys: Vec<(Expr, Expr)>,
    /// The rest of the ON condition, over the input's columns followed by the table's.
    pub condition: Option<Expr>,
    /// The table's column types.
    pub columns: Vec<crate::types::Type>,
}

/// `ROW_NUMBER() OVER (PARTITION BY partition ORDER BY order)` kept to ranks `1..=limit`.
#[derive(Debug, Clone)]
pub struct TopN {
    pub partition: Vec<Expr>,
    pub order: Vec<hir::SortKey>,
    pub limit: u64,
    /// The input's column types (the row kept).
    pub input: Vec<crate::types::Type>,
    /// A window Top-N (Flink's window rank): partitioned by the `window_start` and
    /// `window_end` of a window operator's appended output, whose rows for a window come
    /// all at once when it fires — the final ranking is emitted then, and only appends.
    pub windowed: bool,
    /// A window Top-N's partition component that is the window's end: read the second
    /// stage of a task run in two stages, whose rows for a window come from several workers,
    /// so that it ranks a window once the watermark has passed it.
    pub window_end: Option<usize>,
}

/// A GROUP BY without a window (or SELECT DISTINCT: no aggregates).
#[derive(Debug, Clone)]
pub struct GroupAggregate {
    pub group: Vec<Expr>,
    pub aggregates: Vec<hir::AggregateCall>,
}

/// Which bound of the window a group column is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Start,
    End,
    Time,
}

/// How a window aggregation finds a row's windows.
#[derive(Debug, Clone, PartialEq)]
pub enum Windows {
    /// Assigned from the row's event time (a window TVF or a legacy group window).
    Assigned(hir::WindowKind),
    /// Carried by the row: its `window_start` and `window_end` columns (an aggregation
    /// grouped by the window of another window operator's output).
    Given { start: usize, end: usize },
}

/// `GROUP BY …, window_start, window_end` over a window TVF, or a legacy group window.
/// Its output: one column per `group` entry, then (legacy) start, end and time, then one
/// column per aggregate.
#[derive(Debug, Clone)]
pub struct WindowAggregate {
    pub windows: Windows,
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

/// A side of a join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Left,
    Right,
}

/// Where a branch's rows go.
#[derive(Debug, Clone)]
pub enum Target {
    /// A table: the chain's output columns go to its `columns`, in order; `output` are
    /// their types.
    Sink { table: TableId, columns: Vec<usize>, output: Vec<crate::types::Type> },
    /// One input of a window join (an index into [`Pipeline::joins`]).
    Join { join: usize, side: Side },
    /// The task's second stage, which continues from the window aggregation ending the
    /// branch (see [`Input::Stage`]).
    Stage,
}

/// What a branch's rows come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The task's input (its first table, when it reads two).
    Input,
    /// The second table of a task reading two ([`Input::Tables`]).
    Second,
    /// The output of a window join (an index into [`Pipeline::joins`]).
    Join(usize),
    /// The output of the window aggregation at `step` of an earlier branch of the task,
    /// whose steps up to it this branch shared (computed once, as Flink reuses sub-plans).
    Window { branch: usize, step: usize },
}

/// A chain from a task's input, a join's output or another branch's window, to a target.
#[derive(Debug, Clone)]
pub struct Branch {
    pub from: Origin,
    pub steps: Vec<Step>,
    pub target: Target,
    /// The table of the INSERT it comes from, and the INSERT.
    pub table: TableId,
    pub span: crate::span::Span,
}

impl Branch {
    /// The table the branch writes, if it ends in one.
    pub fn sink(&self) -> Option<TableId> {
        match &self.target {
            Target::Sink { table, .. } => Some(*table),
            Target::Join { .. } | Target::Stage => None,
        }
    }
}

/// A join of two windowed inputs on their windows (`window_start` and `window_end` equal)
/// and equality keys: rows wait until the watermark passes their window.
#[derive(Debug, Clone)]
pub struct WindowJoin {
    pub kind: JoinKind,
    /// The column types of each side.
    pub left: Vec<crate::types::Type>,
    pub right: Vec<crate::types::Type>,
    /// The `window_start` and `window_end` columns of each side; `None` for a regular
    /// (unwindowed) inner join, whose rows are kept for ever (or the state TTL).
    pub left_window: Option<(usize, usize)>,
    pub right_window: Option<(usize, usize)>,
    /// An interval join's time bounds (`left_window` is then `None`): rows are kept until
    /// the watermark passes their last possible partner.
    pub interval: Option<IntervalBounds>,
    /// An event-time temporal join (`FOR SYSTEM_TIME AS OF l.time` against a versioned
    /// table): the left and right time columns; each left row joins, once the watermark
    /// passes it, the version of its key valid at its time (`left_window` is `None`).
    pub versioned: Option<(usize, usize)>,
    /// Equality keys: an expression over the left side's columns and one over the right
    /// side's, both of the key's common type.
    pub keys: Vec<(Expr, Expr)>,
    /// The rest of the ON condition, over the left columns followed by the right ones.
    pub condition: Option<Expr>,
}

/// The time bounds of an interval join: a pair joins only if
/// `lower <= left time - right time <= upper` (ms), besides its ON condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntervalBounds {
    /// The event-time column of each side.
    pub left_time: usize,
    pub right_time: usize,
    pub lower: i64,
    pub upper: i64,
}

/// One thread's work: an input and the branches fed from it.
#[derive(Debug, Clone)]
pub struct Task {
    pub input: Input,
    /// Feeders of a join come before the branch continuing from it.
    pub branches: Vec<Branch>,
}

/// The whole dataflow.
#[derive(Debug, Clone, Default)]
pub struct Pipeline {
    pub tasks: Vec<Task>,
    /// Window joins; each is fed and continued by branches of one task.
    pub joins: Vec<WindowJoin>,
    /// Every table written, in first-use order.
    pub sinks: Vec<TableId>,
    /// Per source table, where its rows too late for their windows go (its
    /// `'scan.late-data.sink'` option, or `SET 'pipeline.late-data.sink'`), instead of only
    /// being counted.
    pub late_sinks: Vec<(TableId, TableId)>,
}

/// The setting naming the late-data table.
pub const LATE_SINK_SETTING: &str = "pipeline.late-data.sink";

/// Where a path of the dataflow starts.
#[derive(Debug, Clone, PartialEq)]
enum Start {
    Input(Input),
    Join(usize),
}

/// A chain of steps from a start to a target, before it is placed in a task.
struct Path {
    start: Start,
    steps: Vec<Step>,
    target: Target,
}

/// Builds the dataflow of a resolved program; refuses what cannot be compiled yet.
pub fn plan(program: &Program) -> Result<Pipeline, Diagnostics> {
    let mut diagnostics = Diagnostics::default();
    let mut pipeline = Pipeline::default();
    for insert in &program.inserts {
        let mut paths = Vec::new();
        let target = Target::Sink {
            table: insert.table,
            columns: insert.columns.clone(),
            output: insert.query.schema.iter().map(|f| f.ty.clone()).collect(),
        };
        let mut joins = std::mem::take(&mut pipeline.joins);
        let flattened = flatten(&insert.query, Vec::new(), target, &mut joins, &mut paths);
        pipeline.joins = joins;
        if let Err(d) = flattened {
            diagnostics.push(d);
            continue;
        }
        if !pipeline.sinks.contains(&insert.table) {
            pipeline.sinks.push(insert.table);
        }
        if let Err(d) = place(&mut pipeline, paths, insert.table, insert.span) {
            diagnostics.push(d.at(insert.query.span, "joins rows of different sources"));
        }
    }
    late_sinks(program, &mut pipeline, &mut diagnostics);
    for task in &mut pipeline.tasks {
        share_windows(task);
    }
    if diagnostics.has_errors() { Err(diagnostics) } else { Ok(pipeline) }
}

/// Resolves, per source table with window operators, the table its late rows go to.
fn late_sinks(program: &Program, pipeline: &mut Pipeline, diagnostics: &mut Diagnostics) {
    let setting = program.settings.get(LATE_SINK_SETTING);
    for task in &pipeline.tasks {
        let Input::Table(source) = task.input else { continue };
        let windowed = task.branches.iter().any(|b| {
            b.steps.iter().any(|s| matches!(s, Step::WindowAggregate(_))) || matches!(b.target, Target::Join { .. })
        });
        let table = &program.tables[source.0];
        let (name, origin) = match (table.options.get(crate::catalog::connectors::LATE_DATA_SINK), setting) {
            (Some(name), _) => {
                (name, format!("`{}`'s option '{}'", table.name, crate::catalog::connectors::LATE_DATA_SINK))
            }
            (None, Some(name)) => (name, format!("'{LATE_SINK_SETTING}'")),
            (None, None) => continue,
        };
        let reported = |d: &Diagnostics| d.iter().any(|x| x.message.contains(name.as_str()));
        match program.tables.iter().position(|t| &t.name == name) {
            _ if !windowed && !table.options.contains_key(crate::catalog::connectors::LATE_DATA_SINK) => {}
            Some(i) if i == source.0 => diagnostics.push(
                Diagnostic::error(Code::InvalidOptionValue, format!("{origin} names `{name}` itself"))
                    .at(table.span, "late rows cannot go back to their source")
                    .with_help("name another table: the source's columns (by name) and optionally `late_reason STRING`"),
            ),
            Some(_) if !windowed => {}
            Some(i) => {
                pipeline.late_sinks.push((source, TableId(i)));
                if !pipeline.sinks.contains(&TableId(i)) {
                    pipeline.sinks.push(TableId(i));
                }
            }
            None if reported(diagnostics) => {}
            None => diagnostics.push(
                Diagnostic::error(Code::UnknownTable, format!("{origin} names `{name}`, which is not a table of this file"))
                    .at(table.span, "its late rows go nowhere")
                    .with_help("define the late-data table with CREATE TABLE: the source's columns (by name) and optionally `late_reason STRING`"),
            ),
        }
    }
}

/// Branches of a task whose steps from the input up to a window aggregation are the same
/// compute that window once: the later branch continues from the earlier one's window.
fn share_windows(task: &mut Task) {
    let key = |s: &Step| format!("{s:?}");
    for i in 1..task.branches.len() {
        if task.branches[i].from != Origin::Input {
            continue;
        }
        let mut best: Option<(usize, usize)> = None;
        for j in 0..i {
            let (a, b) = (&task.branches[j], &task.branches[i]);
            if a.from != Origin::Input {
                continue;
            }
            let common = a.steps.iter().zip(&b.steps).take_while(|(x, y)| key(x) == key(y)).count();
            // The last window within the common prefix.
            let last = (0..common).rev().find(|&k| matches!(b.steps[k], Step::WindowAggregate(_)));
            if let Some(k) = last
                && best.is_none_or(|(_, bk)| k > bk)
            {
                best = Some((j, k));
            }
        }
        if let Some((j, k)) = best {
            let b = &mut task.branches[i];
            b.steps.drain(..=k);
            b.from = Origin::Window { branch: j, step: k };
        }
    }
}

/// Puts each path of one INSERT into a task: paths from a table share that table's task;
/// a join's feeders must come from one task, which also runs the join's continuation —
/// two tasks feeding one join become one task reading both tables.
fn place(pipeline: &mut Pipeline, paths: Vec<Path>, table: TableId, span: crate::span::Span) -> Result<(), Diagnostic> {
    let mut join_task: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    // Feeders precede their continuation (flatten pushes them first).
    for path in paths {
        let (mut task, mut from) = match &path.start {
            Start::Input(Input::Table(t)) => match task_reading(pipeline, *t) {
                Some(found) => found,
                None => {
                    pipeline.tasks.push(Task { input: Input::Table(*t), branches: Vec::new() });
                    (pipeline.tasks.len() - 1, Origin::Input)
                }
            },
            Start::Input(input) => {
                pipeline.tasks.push(Task { input: input.clone(), branches: Vec::new() });
                (pipeline.tasks.len() - 1, Origin::Input)
            }
            Start::Join(j) => {
                (*join_task.get(j).ok_or_else(|| Diagnostic::internal("a join without inputs"))?, Origin::Join(*j))
            }
        };
        if let Target::Join { join, .. } = path.target {
            match join_task.get(&join) {
                Some(&t) if t != task => {
                    // The other side's task takes this one's table and branches.
                    let (into, second) = merge_tasks(pipeline, t, task)?;
                    for v in join_task.values_mut() {
                        *v = match *v {
                            v if v == task || v == t => into,
                            v if v > task => v - 1,
                            v => v,
                        };
                    }
                    task = into;
                    if from == Origin::Input {
                        from = second;
                    }
                }
                _ => {
                    join_task.insert(join, task);
                }
            }
        }
        pipeline.tasks[task].branches.push(Branch { from, steps: path.steps, target: path.target, table, span });
    }
    Ok(())
}

/// The task reading table `t`, and the origin of its rows there.
fn task_reading(pipeline: &Pipeline, t: TableId) -> Option<(usize, Origin)> {
    pipeline.tasks.iter().enumerate().find_map(|(i, task)| match task.input {
        Input::Table(a) if a == t => Some((i, Origin::Input)),
        Input::Tables(a, _) if a == t => Some((i, Origin::Input)),
        Input::Tables(_, b) if b == t => Some((i, Origin::Second)),
        _ => None,
    })
}

/// Moves task `from`'s table and branches into task `into` (which then reads both tables,
/// `from`'s rows as its second input), removing `from`. Returns `into`'s new index and
/// the origin `from`'s input rows have there.
fn merge_tasks(pipeline: &mut Pipeline, into: usize, from: usize) -> Result<(usize, Origin), Diagnostic> {
    let (Input::Table(a), Input::Table(b)) = (&pipeline.tasks[into].input, &pipeline.tasks[from].input) else {
        return Err(Diagnostic::error(
            Code::NotYetCompiled,
            "this join needs rows of more than two source tables (or of constant rows) in one task, which `dflc build` cannot generate code for yet".to_string(),
        )
        .with_help("join two tables at a time per pipeline: joins across three or more source tables arrive with a later release"));
    };
    let (a, b) = (*a, *b);
    let moved = pipeline.tasks.remove(from);
    let into = if into > from { into - 1 } else { into };
    let task = &mut pipeline.tasks[into];
    let offset = task.branches.len();
    task.input = Input::Tables(a, b);
    for mut branch in moved.branches {
        branch.from = match branch.from {
            Origin::Input => Origin::Second,
            Origin::Window { branch, step } => Origin::Window { branch: branch + offset, step },
            other => other,
        };
        task.branches.push(branch);
    }
    Ok((into, Origin::Second))
}

/// The paths from inputs to `rel`'s output: each a start, the steps after it and where
/// its rows go. A join's feeders are pushed before the path continuing from it.
fn flatten(
    rel: &Rel,
    after: Vec<Step>,
    target: Target,
    joins: &mut Vec<WindowJoin>,
    out: &mut Vec<Path>,
) -> Result<(), Diagnostic> {
    let then = |step: Step| -> Vec<Step> { std::iter::once(step).chain(after.iter().cloned()).collect() };
    match &rel.kind {
        RelKind::Scan { table, .. } => {
            out.push(Path { start: Start::Input(Input::Table(*table)), steps: after, target })
        }
        RelKind::Values { rows } => {
            // Every row's values take the column's (common) type.
            let rows = rows
                .iter()
                .map(|row| row.iter().zip(&rel.schema).map(|(e, f)| converted(e, &f.ty)).collect())
                .collect();
            out.push(Path { start: Start::Input(Input::Values(rows)), steps: after, target })
        }
        RelKind::Filter { input, predicate } => {
            // A ranking filtered by its rank: a Top-N, then the projections between them.
            if let Some((over_input, top, projections)) = top_n(input, predicate) {
                let steps = std::iter::once(Step::TopN(top))
                    .chain(projections.into_iter().map(Step::Project))
                    .chain(after.iter().cloned())
                    .collect();
                return flatten(over_input, steps, target, joins, out);
            }
            flatten(input, then(Step::Filter(predicate.clone())), target, joins, out)?
        }
        RelKind::Project { input, exprs } => flatten(input, then(Step::Project(exprs.clone())), target, joins, out)?,
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
                flatten(i, steps, target.clone(), joins, out)?;
            }
        }
        RelKind::Aggregate(a) => {
            if let Some((step, input)) = window_aggregate(a) {
                return flatten(&input, then(Step::WindowAggregate(step)), target, joins, out);
            }
            if a.windowing == hir::Windowing::None {
                // Without a window: computed where its rows arrive, each change going on
                // at once (over changes, retractions undo their rows).
                let step = GroupAggregate { group: a.group_by.clone(), aggregates: a.aggregates.clone() };
                return flatten(&a.input, then(Step::Aggregate(step)), target, joins, out);
            }
            return Err(not_yet(rel));
        }
        RelKind::Join(j) => {
            if let Some(lookup) = lookup_join(j) {
                return flatten(&j.left, then(Step::Lookup(lookup)), target, joins, out);
            }
            let Some(join) = window_join(j) else { return Err(not_yet(rel)) };
            let (sides, after) = filters_below_join(&join, after);
            let id = joins.len();
            joins.push(join);
            let [left, right] = sides;
            flatten(&j.left, left, Target::Join { join: id, side: Side::Left }, joins, out)?;
            flatten(&j.right, right, Target::Join { join: id, side: Side::Right }, joins, out)?;
            out.push(Path { start: Start::Join(id), steps: after, target });
        }
        RelKind::Over { input, calls } => {
            let Some(step) = over(input, calls) else { return Err(not_yet(rel)) };
            return flatten(input, then(Step::Over(step)), target, joins, out);
        }
        _ => return Err(not_yet(rel)),
    }
    Ok(())
}

/// OVER aggregates this release compiles: aggregate functions (not LAG or rankings) over
/// one window — the same PARTITION BY, ORDER BY a time attribute ascending and frame — of
/// appended rows.
fn over(input: &Rel, calls: &[hir::OverCall]) -> Option<Over> {
    let first = calls.first()?;
    let same = |c: &hir::OverCall| {
        let key = |k: &hir::SortKey| (k.expr.to_string(), k.desc);
        c.partition_by.iter().map(ToString::to_string).eq(first.partition_by.iter().map(ToString::to_string))
            && c.order_by.iter().map(key).eq(first.order_by.iter().map(key))
            && c.frame == first.frame
    };
    if !input.append_only || !calls.iter().all(same) {
        return None;
    }
    let aggregate = |c: &hir::OverCall| {
        matches!(c.function.as_str(), "COUNT" | "SUM" | "MIN" | "MAX" | "AVG" | "FIRST_VALUE" | "LAST_VALUE")
    };
    if !calls.iter().all(aggregate) {
        return None;
    }
    let [order] = first.order_by.as_slice() else { return None };
    let hir::ExprKind::Column(time_column) = order.expr.kind else { return None };
    let time = input.schema.get(time_column)?.time?;
    if order.desc {
        return None;
    }
    let (rows, preceding) = match &first.frame {
        Some(f) => (f.rows, f.preceding),
        // Without a frame: every earlier row (and the row's peers), as RANGE UNBOUNDED.
        None => (false, None),
    };
    Some(Over {
        partition: first.partition_by.clone(),
        time_column,
        proctime: time == hir::TimeAttribute::Proctime,
        rows,
        preceding,
        aggregates: calls
            .iter()
            .map(|c| hir::AggregateCall {
                function: c.function.clone(),
                args: c.args.clone(),
                distinct: false,
                filter: None,
                ty: c.ty.clone(),
                rust: None,
            })
            .collect(),
        input: input.schema.iter().map(|f| f.ty.clone()).collect(),
    })
}

/// A join this release compiles: a window join (both sides' `window_start` and
/// `window_end` equal), inner or outer; the other equalities between the sides are its keys.
fn window_join(j: &hir::Join) -> Option<WindowJoin> {
    if let hir::JoinType::Temporal { time: hir::TimeAttribute::Rowtime, left_time_column } = j.join_type {
        return versioned_join(j, left_time_column);
    }
    let interval = match j.join_type {
        hir::JoinType::Interval => Some(interval_bounds(j)?),
        _ => None,
    };
    // An interval join is planned as a regular one whose rows the watermark frees.
    let regular = j.join_type == hir::JoinType::Regular || interval.is_some();
    if !(j.join_type == hir::JoinType::Window || regular) || j.kind == JoinKind::Cross {
        return None;
    }
    // Windows need appended rows; a regular join takes changes too.
    if !(regular || j.left.append_only && j.right.append_only) {
        return None;
    }
    let width = j.left.schema.len();
    let mut conjuncts = Vec::new();
    split_and(j.condition.as_ref()?, &mut conjuncts);
    let side = |e: &Expr| -> Option<Side> {
        let mut cols = Vec::new();
        e.columns(&mut cols);
        let first = *cols.first()?;
        let side = if first < width { Side::Left } else { Side::Right };
        cols.iter().all(|&c| (c < width) == (side == Side::Left)).then_some(side)
    };
    let bound = |e: &Expr| -> Option<hir::WindowBound> {
        match e.kind {
            hir::ExprKind::Column(c) if c < width => j.left.schema[c].window,
            hir::ExprKind::Column(c) => j.right.schema[c - width].window,
            _ => None,
        }
    };
    let column = |e: &Expr| match e.kind {
        hir::ExprKind::Column(c) => c,
        _ => usize::MAX,
    };
    let (mut starts, mut ends, mut keys, mut rest) = (None, None, Vec::new(), Vec::new());
    for c in conjuncts {
        if let hir::ExprKind::Call { function, args } = &c.kind
            && function == "="
            && args.len() == 2
        {
            let (a, b) = (&args[0], &args[1]);
            let pair = match (side(a), side(b)) {
                (Some(Side::Left), Some(Side::Right)) => Some((a, b)),
                (Some(Side::Right), Some(Side::Left)) => Some((b, a)),
                _ => None,
            };
            if let Some((l, r)) = pair {
                let bounds = if regular { (None, None) } else { (bound(l), bound(r)) };
                match bounds {
                    (Some(hir::WindowBound::Start), Some(hir::WindowBound::Start)) if starts.is_none() => {
                        starts = Some((column(l), column(r) - width));
                        continue;
                    }
                    (Some(hir::WindowBound::End), Some(hir::WindowBound::End)) if ends.is_none() => {
                        ends = Some((column(l), column(r) - width));
                        continue;
                    }
                    _ => {}
                }
                let common = crate::types::common_type(&l.ty, &r.ty)?;
                keys.push((converted(l, &common), converted(&r.shifted_down(width), &common)));
                continue;
            }
        }
        rest.push(c.clone());
    }
    let windows = match (starts, ends) {
        (Some(s), Some(e)) if !regular => Some((s, e)),
        _ if regular && !keys.is_empty() => None,
        _ => return None,
    };
    let condition = conjunction(rest);
    Some(WindowJoin {
        kind: j.kind,
        left: j.left.schema.iter().map(|f| f.ty.clone()).collect(),
        right: j.right.schema.iter().map(|f| f.ty.clone()).collect(),
        left_window: windows.map(|(s, e)| (s.0, e.0)),
        right_window: windows.map(|(s, e)| (s.1, e.1)),
        interval,
        versioned: None,
        keys,
        condition,
    })
}

/// An event-time temporal join against a versioned table (the right side a table with a
/// PRIMARY KEY and a watermark, checked by the resolver), inner or left: the equalities
/// with the right table's columns are the keys.
fn versioned_join(j: &hir::Join, left_time: usize) -> Option<WindowJoin> {
    if !matches!(j.kind, JoinKind::Inner | JoinKind::Left) || !j.left.append_only {
        return None;
    }
    let RelKind::Scan { .. } = &j.right.kind else { return None };
    let right_time = j.right.schema.iter().position(|f| f.time == Some(hir::TimeAttribute::Rowtime))?;
    let (keys, condition) = table_keys(j)?;
    Some(WindowJoin {
        kind: j.kind,
        left: j.left.schema.iter().map(|f| f.ty.clone()).collect(),
        right: j.right.schema.iter().map(|f| f.ty.clone()).collect(),
        left_window: None,
        right_window: None,
        interval: None,
        versioned: Some((left_time, right_time)),
        keys,
        condition,
    })
}

/// Equality keys of a join: an expression over the left side and one over the right.
type JoinKeys = Vec<(Expr, Expr)>;

/// The keys of a join against a table (temporal or lookup): each equality between an
/// expression over the left side and a column of the right table, both brought to their
/// common type; and the rest of the ON condition. `None` without any such equality.
fn table_keys(j: &hir::Join) -> Option<(JoinKeys, Option<Expr>)> {
    let width = j.left.schema.len();
    let mut conjuncts = Vec::new();
    split_and(j.condition.as_ref()?, &mut conjuncts);
    let on_left = |e: &Expr| {
        let mut cols = Vec::new();
        e.columns(&mut cols);
        cols.iter().all(|&c| c < width)
    };
    let (mut keys, mut rest) = (Vec::new(), Vec::new());
    for c in conjuncts {
        if let hir::ExprKind::Call { function, args } = &c.kind
            && let (true, [a, b]) = (function == "=", args.as_slice())
        {
            let pair = match (&a.kind, &b.kind) {
                (_, hir::ExprKind::Column(r)) if *r >= width && on_left(a) => Some((a, b)),
                (hir::ExprKind::Column(r), _) if *r >= width && on_left(b) => Some((b, a)),
                _ => None,
            };
            if let Some((l, r)) = pair
                && let Some(common) = crate::types::common_type(&l.ty, &r.ty)
            {
                keys.push((converted(l, &common), converted(&r.shifted_down(width), &common)));
                continue;
            }
        }
        rest.push(c.clone());
    }
    if keys.is_empty() {
        return None;
    }
    let condition = conjunction(rest);
    Some((keys, condition))
}

/// A lookup join: a processing-time temporal join whose right side is a table read whole
/// (the resolver checked its connector and key equality), inner or left.
fn lookup_join(j: &hir::Join) -> Option<Lookup> {
    let hir::JoinType::Temporal { time: hir::TimeAttribute::Proctime, .. } = j.join_type else { return None };
    let RelKind::Scan { table, .. } = &j.right.kind else { return None };
    if !matches!(j.kind, JoinKind::Inner | JoinKind::Left) {
        return None;
    }
    let (keys, condition) = table_keys(j)?;
    Some(Lookup {
        table: *table,
        kind: j.kind,
        keys,
        condition,
        columns: j.right.schema.iter().map(|f| f.ty.clone()).collect(),
    })
}

/// The time bounds of an interval join's condition: comparisons (`<`, `<=`, `>`, `>=`,
/// `BETWEEN`) between one event-time column of each side, each maybe plus or minus an
/// interval literal; both a lower and an upper bound of `left time - right time` must be
/// found (strict comparisons are taken as inclusive: the bounds only free state, the
/// condition itself is still checked).
fn interval_bounds(j: &hir::Join) -> Option<IntervalBounds> {
    let width = j.left.schema.len();
    // A time column (index in the joined row) plus an offset in ms.
    let timed = |e: &Expr| -> Option<(usize, i64)> {
        let column = |e: &Expr| match e.kind {
            hir::ExprKind::Column(c) => Some(c),
            _ => None,
        };
        let ms = |e: &Expr| match e.kind {
            hir::ExprKind::Literal(hir::Value::IntervalMs(ms)) => Some(ms),
            _ => None,
        };
        let (c, offset) = match &e.kind {
            hir::ExprKind::Column(c) => (*c, 0),
            hir::ExprKind::Call { function, args } if args.len() == 2 => match function.as_str() {
                "+" => match (column(&args[0]), column(&args[1])) {
                    (Some(c), None) => (c, ms(&args[1])?),
                    (None, Some(c)) => (c, ms(&args[0])?),
                    _ => return None,
                },
                "-" => (column(&args[0])?, -ms(&args[1])?),
                _ => return None,
            },
            _ => return None,
        };
        let field = if c < width { &j.left.schema[c] } else { j.right.schema.get(c - width)? };
        (field.time == Some(hir::TimeAttribute::Rowtime)).then_some((c, offset))
    };
    let mut conjuncts = Vec::new();
    split_and(j.condition.as_ref()?, &mut conjuncts);
    let mut comparisons: Vec<(&Expr, &str, &Expr)> = Vec::new();
    for c in conjuncts {
        let hir::ExprKind::Call { function, args } = &c.kind else { continue };
        match (function.as_str(), args.as_slice()) {
            (op @ ("<" | "<=" | ">" | ">="), [a, b]) => comparisons.push((a, op, b)),
            ("BETWEEN", [a, low, high]) => {
                comparisons.push((a, ">=", low));
                comparisons.push((a, "<=", high));
            }
            _ => {}
        }
    }
    let (mut left_time, mut right_time, mut lower, mut upper) = (None, None, None::<i64>, None::<i64>);
    for (a, op, b) in comparisons {
        let (Some((ca, oa)), Some((cb, ob))) = (timed(a), timed(b)) else { continue };
        // `a + oa op b + ob` as a bound of `left time - right time`.
        let (l, r, less, bound) = match (ca < width, cb < width) {
            (true, false) => (ca, cb - width, matches!(op, "<" | "<="), ob - oa),
            (false, true) => (cb, ca - width, !matches!(op, "<" | "<="), oa - ob),
            _ => continue,
        };
        if *left_time.get_or_insert(l) != l || *right_time.get_or_insert(r) != r {
            return None;
        }
        if less {
            upper = Some(upper.map_or(bound, |u| u.min(bound)));
        } else {
            lower = Some(lower.map_or(bound, |x| x.max(bound)));
        }
    }
    Some(IntervalBounds { left_time: left_time?, right_time: right_time?, lower: lower?, upper: upper? })
}

/// `predicate` over `rel` as a Top-N: `rel` is a ranking (one ROW_NUMBER over appended
/// rows read straight from the source, maybe under projections) and `predicate` keeps
/// ranks up to N (`rank <= N`, `rank < N`, `rank = 1`). Returns the ranking's input, the
/// Top-N and the projections between the ranking and the filter (innermost first).
fn top_n<'r>(rel: &'r Rel, predicate: &Expr) -> Option<(&'r Rel, TopN, Vec<Vec<Expr>>)> {
    let mut projections = Vec::new();
    let mut current = rel;
    // The predicate's column, traced down through the projections.
    let hir::ExprKind::Call { function, args } = &predicate.kind else { return None };
    let [column, bound] = &args[..] else { return None };
    let (hir::ExprKind::Column(c), hir::ExprKind::Literal(hir::Value::Number(text))) = (&column.kind, &bound.kind)
    else {
        return None;
    };
    let mut c = *c;
    let n: i64 = text.parse().ok()?;
    let limit = match function.as_str() {
        "<=" => n,
        "<" => n - 1,
        "=" if n == 1 => 1,
        _ => return None,
    };
    if limit < 1 {
        return None;
    }
    loop {
        match &current.kind {
            RelKind::Project { input, exprs } => {
                let hir::ExprKind::Column(inner) = exprs.get(c)?.kind else { return None };
                c = inner;
                projections.push(exprs.clone());
                current = input;
            }
            RelKind::Over { input, calls } => {
                let [call] = &calls[..] else { return None };
                if call.function != "ROW_NUMBER" || call.order_by.is_empty() || call.frame.is_some() {
                    return None;
                }
                if c != input.schema.len() {
                    return None;
                }
                projections.reverse();
                let bound = |b: hir::WindowBound| {
                    call.partition_by.iter().any(|e| {
                        matches!(e.kind, hir::ExprKind::Column(c) if input.schema.get(c).and_then(|f| f.window) == Some(b))
                    })
                };
                let windowed = input.append_only && bound(hir::WindowBound::Start) && bound(hir::WindowBound::End);
                let window_end = call.partition_by.iter().position(|e| {
                    matches!(e.kind, hir::ExprKind::Column(c) if input.schema.get(c).and_then(|f| f.window) == Some(hir::WindowBound::End))
                });
                let top = TopN {
                    partition: call.partition_by.clone(),
                    order: call.order_by.clone(),
                    limit: limit as u64,
                    input: input.schema.iter().map(|f| f.ty.clone()).collect(),
                    windowed,
                    window_end: window_end.filter(|_| windowed),
                };
                return Some((input, top, projections));
            }
            _ => return None,
        }
    }
}

/// The conjuncts of a filter right after join `join` (`after`, the steps after it) that
/// read one side's columns only, moved before the join onto that side (as Flink pushes
/// them): each side's steps, and what stays after the join. A side's rows that fail them
/// would only make pairs the filter drops, so the join keeps fewer rows and the output is
/// the same. Not onto a side an outer join pads with NULLs (its unmatched rows would
/// change), nor onto the versions of a temporal join (a version that fails them still
/// ends the one before it), nor a conjunct that may give another value when computed
/// again (the clock, `RAND()`, a Rust function).
fn filters_below_join(join: &WindowJoin, mut after: Vec<Step>) -> ([Vec<Step>; 2], Vec<Step>) {
    let mut sides = [Vec::new(), Vec::new()];
    let Some(Step::Filter(predicate)) = after.first() else { return (sides, after) };
    let (to_left, to_right) = match join.kind {
        JoinKind::Inner | JoinKind::Cross => (true, join.versioned.is_none()),
        JoinKind::Left => (true, false),
        JoinKind::Right => (false, join.versioned.is_none()),
        JoinKind::Full => (false, false),
    };
    let width = join.left.len();
    let mut conjuncts = Vec::new();
    split_and(predicate, &mut conjuncts);
    let (mut pushed, mut kept) = ([Vec::new(), Vec::new()], Vec::new());
    for c in conjuncts {
        let mut read = Vec::new();
        c.columns(&mut read);
        let side = match (read.iter().all(|&r| r < width), read.iter().all(|&r| r >= width)) {
            _ if read.is_empty() || crate::parallel::unstable(c) => None,
            (true, _) if to_left => Some(0),
            (_, true) if to_right => Some(1),
            _ => None,
        };
        match side {
            Some(side) => pushed[side].push(c.clone()),
            None => kept.push(c.clone()),
        }
    }
    // The right side's columns follow the left's in the join's rows.
    let right_columns: Vec<Expr> = (join.left.iter().cloned().enumerate())
        .map(|(i, ty)| Expr::column(i, ty))
        .chain(join.right.iter().cloned().enumerate().map(|(i, ty)| Expr::column(i, ty)))
        .collect();
    let [left, right] = pushed;
    if let Some(p) = conjunction(left) {
        sides[0].push(Step::Filter(p));
    }
    if let Some(p) = conjunction(right.iter().map(|c| c.substituted(&right_columns)).collect()) {
        sides[1].push(Step::Filter(p));
    }
    match conjunction(kept) {
        Some(rest) => after[0] = Step::Filter(rest),
        None => {
            after.remove(0);
        }
    }
    (sides, after)
}

/// `a AND b AND …` of `conjuncts` (`None` without any).
fn conjunction(conjuncts: Vec<Expr>) -> Option<Expr> {
    conjuncts.into_iter().reduce(|a, b| {
        let ty = crate::types::Type::new(crate::types::TypeKind::Boolean).with_nullable(a.ty.nullable || b.ty.nullable);
        Expr::call("AND", vec![a, b], ty)
    })
}

fn split_and<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    match &e.kind {
        hir::ExprKind::Call { function, args } if function == "AND" => args.iter().for_each(|a| split_and(a, out)),
        _ => out.push(e),
    }
}

/// A window aggregation this release compiles: TUMBLE, HOP or CUMULATE (as a TVF grouped
/// by its start and end, or a legacy group window), over a stateless input.
fn window_aggregate(a: &hir::Aggregate) -> Option<(WindowAggregate, Rel)> {
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
    // Windows need appended rows (as in Flink).
    if !a.input.append_only {
        return None;
    }
    let windowed = filters_below_window(&a.input);
    match (&a.windowing, &windowed.kind) {
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
                windows: Windows::Assigned(window.clone()),
                time_column: *time_column,
                group,
                aggregates: a.aggregates.clone(),
                legacy: false,
                proctime: input.schema.get(*time_column).and_then(|f| f.time) == Some(hir::TimeAttribute::Proctime),
            };
            Some((step, (**input).clone()))
        }
        (hir::Windowing::Group { window, time_column }, _) => {
            let step = WindowAggregate {
                windows: Windows::Assigned(window.clone()),
                time_column: *time_column,
                group: a.group_by.iter().cloned().map(Ok).collect(),
                aggregates: a.aggregates.clone(),
                legacy: true,
                proctime: a.input.schema.get(*time_column).and_then(|f| f.time) == Some(hir::TimeAttribute::Proctime),
            };
            Some((step, a.input.clone()))
        }
        (hir::Windowing::Tvf { start, end }, _) => {
            // Grouped by the window of the input's rows (another window operator's output).
            let col = |i: usize| match a.group_by.get(i)?.kind {
                hir::ExprKind::Column(c) => Some(c),
                _ => None,
            };
            let (start_col, end_col) = (col(*start)?, col(*end)?);
            let group = a
                .group_by
                .iter()
                .enumerate()
                .map(|(i, g)| match i {
                    i if i == *start => Err(Bound::Start),
                    i if i == *end => Err(Bound::End),
                    _ => Ok(g.clone()),
                })
                .collect();
            let step = WindowAggregate {
                windows: Windows::Given { start: start_col, end: end_col },
                time_column: end_col,
                group,
                aggregates: a.aggregates.clone(),
                legacy: false,
                proctime: false,
            };
            Some((step, a.input.clone()))
        }
        _ => None,
    }
}

/// `rel` with the filters between a window table function and its aggregation (`WHERE`
/// on the input's columns) moved below the window function, where they mean the same.
fn filters_below_window(rel: &Rel) -> Rel {
    let RelKind::Filter { input, predicate } = &rel.kind else { return rel.clone() };
    let inner = filters_below_window(input);
    let RelKind::Window { input: source, window, time_column } = &inner.kind else { return rel.clone() };
    let mut cols = Vec::new();
    predicate.columns(&mut cols);
    if cols.iter().any(|&c| c >= source.schema.len()) {
        return rel.clone();
    }
    let filtered = Rel {
        kind: RelKind::Filter { input: source.clone(), predicate: predicate.clone() },
        schema: source.schema.clone(),
        append_only: source.append_only,
        span: rel.span,
    };
    Rel {
        kind: RelKind::Window { input: Box::new(filtered), window: window.clone(), time_column: *time_column },
        ..inner
    }
}

fn not_yet(rel: &Rel) -> Diagnostic {
    let what = match &rel.kind {
        RelKind::Window { .. } => "a window table function outside a window aggregation",
        RelKind::Aggregate(a) if !a.input.append_only => {
            "a window aggregation over an updating input (windows need appended rows, as in Flink)"
        }
        RelKind::Aggregate(a) if a.windowing != hir::Windowing::None => {
            "this window aggregation (a SESSION window grouped by other keys than its PARTITION BY, or one over another stateful operator)"
        }
        RelKind::Join(j) if j.join_type == hir::JoinType::Window => {
            "a window join over an updating input (windows need appended rows, as in Flink)"
        }
        RelKind::Join(_) => "this join (an interval or temporal join, a cross join, or one without an equality)",
        RelKind::Over { .. } => {
            "this OVER aggregate (LAG, a ranking without a rank filter, OVER windows that differ within one SELECT, or over an updating input)"
        }
        _ => "ORDER BY / LIMIT",
    };
    Diagnostic::error(
        Code::NotYetCompiled,
        format!("this query needs {what}, which `dflc build` cannot generate code for yet"),
    )
    .at(rel.span, "needs state")
    .with_help("`dflc check` accepts the query; these operators arrive with the next releases")
}

/// `e` as a value of `ty` (an implicit conversion, when the types differ).
fn converted(e: &Expr, ty: &crate::types::Type) -> Expr {
    if e.ty.kind == ty.kind {
        return e.clone();
    }
    Expr { kind: hir::ExprKind::Cast { expr: Box::new(e.clone()), try_: false }, ty: ty.clone() }
}
