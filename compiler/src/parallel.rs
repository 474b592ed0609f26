//! Which tasks can run N-wide (`SET 'parallelism.default' = 'N'`), and by which key: a
//! property of the physical plan that code generation (the router and its workers, see
//! `codegen/exchange.rs` and `dfl::exchange`) and `dflc explain` read.
//!
//! A task runs N-wide when every row of a key must meet only rows of the same key: it
//! reads one append-only table, its first stateful step is keyed (a GROUP BY, a window
//! aggregation with group columns besides the window, a Top-N or OVER partition), and
//! some columns of that key over the source row (through its projections) are in the key
//! of every keyed step of every branch (and of branches continuing from them): the route
//! key, the first key narrowed to those columns ([`exchange_plan`]). Branches without a
//! key may come along when they append to tables without a primary key. Processing-time
//! windows and keys that read the clock or call Rust stay at parallelism 1, as do other
//! tasks; `dflc explain` says why. A task joining two branches of its table routes each
//! side by its own join key ([`join_exchange`]). A task may also run in two stages ([`stage_plan`]):
//! N-wide up to a window aggregation keyed by the route, the rest on one thread from the
//! workers' windows — when it cannot run N-wide as a whole, or when that first stage is
//! routed by more columns than the whole task would be ([`wide_plan`]).

use crate::ast::JoinKind;
use crate::hir::{Expr, ExprKind};
use crate::plan::{Input, Origin, Pipeline, Side, Step, Target, Task};
use std::collections::HashMap;

/// How a task's rows are routed: by `key`, expressions over the source table's row (the
/// key of the task's first keyed step, through the projections before it, narrowed to the
/// columns every keyed step has) — or, for a join of two branches of the table, each side
/// by its own key (`sides`; `key` is then the left side's).
#[derive(Debug, Clone, Default)]
pub struct Exchange {
    pub key: Vec<Expr>,
    /// Per keyed step (branch, step): where in the step's key each component of `key`
    /// is, so that the key group of the step's state keys can be told (a worker restored
    /// at another parallelism keeps the keys it owns).
    pub positions: HashMap<(usize, usize), Vec<usize>>,
    /// A task joining two branches of its table, or two tables ([`join_exchange`]): per
    /// branch feeding the join, its own route key over its table's row (its join key;
    /// `key` is the first's). Of one table, a row goes to the worker of each side it
    /// feeds, and a worker runs a side's branch only for the rows whose key it owns; of
    /// two tables, each table has a router of its own, routing by its side's key. Empty
    /// for other tasks.
    pub sides: Vec<(usize, Vec<Expr>)>,
    /// Per join of the task (an index into the pipeline's joins): where in its equality
    /// key each route key component is.
    pub joins: HashMap<usize, Vec<usize>>,
}

/// Where in keyed `step`'s key each of the `components` route key components is, given
/// the key map of its input; `None` if one is not there.
fn positions_in(step: &Step, map: &KeyMap, components: usize) -> Option<Vec<usize>> {
    (0..components).map(|k| positions_in_one(step, map, k)).collect()
}

/// Where in keyed `step`'s key route key component `k` is, given the key map of its input.
fn positions_in_one(step: &Step, map: &KeyMap, k: usize) -> Option<usize> {
    step_key(step)?.iter().position(|e| column(e).and_then(|c| map.get(c).copied().flatten()) == Some(k))
}

/// The key of keyed step `steps[s]` over the row the steps start from: projections
/// before it inlined (filters do not change columns).
fn key_over_input(steps: &[Step], s: usize, key: &[Expr]) -> Vec<Expr> {
    let mut key = key.to_vec();
    for step in steps[..s].iter().rev() {
        if let Step::Project(exprs) = step {
            key = key.iter().map(|e| e.substituted(exprs)).collect();
        }
    }
    key
}

/// The keys of a keyed step over its input, or `None` for steps without a key.
fn step_key(step: &Step) -> Option<Vec<Expr>> {
    match step {
        Step::WindowAggregate(w) => Some(w.group.iter().filter_map(|g| g.as_ref().ok().cloned()).collect()),
        Step::Aggregate(g) => Some(g.group.clone()),
        Step::TopN(t) => Some(t.partition.clone()),
        Step::Over(o) => Some(o.partition.clone()),
        Step::Filter(_) | Step::Project(_) | Step::Lookup(_) => None,
    }
}

fn column(e: &Expr) -> Option<usize> {
    match e.kind {
        ExprKind::Column(c) => Some(c),
        _ => None,
    }
}

/// Whether `e` may give another value when computed again (the clock, a Rust function):
/// the router and the worker would then disagree on a row's key.
pub(crate) fn unstable(e: &Expr) -> bool {
    const CLOCK: &[&str] = &[
        "NOW",
        "PROCTIME",
        "CURRENT_TIMESTAMP",
        "CURRENT_DATE",
        "CURRENT_TIME",
        "LOCALTIMESTAMP",
        "LOCALTIME",
        "CURRENT_ROW_TIMESTAMP",
        "UNIX_TIMESTAMP",
        "RAND",
        "RAND_INTEGER",
        "UUID",
        "CURRENT_WATERMARK",
    ];
    match &e.kind {
        ExprKind::Column(_) | ExprKind::Literal(_) => false,
        ExprKind::Udf { .. } => true,
        ExprKind::Call { function, args } => CLOCK.contains(&function.as_str()) || args.iter().any(unstable),
        ExprKind::Cast { expr, .. } | ExprKind::Field { expr, .. } | ExprKind::TimeUnitCall { expr, .. } => {
            unstable(expr)
        }
        ExprKind::Case { whens, else_ } => {
            whens.iter().any(|(w, t)| unstable(w) || unstable(t)) || else_.as_deref().is_some_and(unstable)
        }
    }
}

/// Whether `e`, over table `t`'s row, is [`unstable`], or reads a computed column that is
/// (computed again where the row is read, it may give another value).
pub(crate) fn unstable_over(t: &crate::hir::Table, e: &Expr) -> bool {
    if unstable(e) {
        return true;
    }
    let mut read = Vec::new();
    e.columns(&mut read);
    read.iter().any(|&c| match t.columns.get(c).map(|col| &col.kind) {
        Some(crate::hir::ColumnKind::Computed(def)) => unstable_over(t, def),
        _ => false,
    })
}

/// Which routing key component each column of a frame is (when it is one, unchanged).
type KeyMap = Vec<Option<usize>>;

/// The map of a step's output, given its input's.
fn map_through(step: &Step, input: &KeyMap) -> KeyMap {
    let of = |e: &Expr| column(e).and_then(|c| input.get(c).copied().flatten());
    match step {
        Step::Filter(_) => input.clone(),
        Step::Project(exprs) => exprs.iter().map(of).collect(),
        Step::WindowAggregate(w) => w.group.iter().map(|g| g.as_ref().ok().and_then(of)).collect(),
        Step::Aggregate(g) => g.group.iter().map(of).collect(),
        // The input's columns, then a rank, aggregates or the table's columns.
        Step::TopN(_) | Step::Over(_) | Step::Lookup(_) => input.clone(),
    }
}

/// Why a task cannot run N-wide by a route key: `why`; and when the key is the reason,
/// the key tried (`route`, over the source row) and which of its components a keyed step
/// lacks (`missing`): routed by the others, the task may run N-wide.
struct Refusal {
    why: String,
    route: Vec<Expr>,
    missing: Vec<usize>,
}

impl From<&str> for Refusal {
    fn from(why: &str) -> Self {
        Refusal { why: why.to_string(), route: Vec::new(), missing: Vec::new() }
    }
}

impl From<String> for Refusal {
    fn from(why: String) -> Self {
        Refusal { why, route: Vec::new(), missing: Vec::new() }
    }
}

/// How a task runs N-wide in one process.
#[derive(Debug, Clone)]
pub enum Wide {
    /// As a whole, routed by the exchange's key.
    Whole(Exchange),
    /// In two stages ([`stage_plan`]), and why: the task cannot run as a whole, or only
    /// routed by fewer columns.
    Staged(Stages, String),
}

/// How task `task` runs N-wide in one process, or why it runs at parallelism 1: as a whole
/// when the key of its first keyed step keeps together the rows of every keyed step. Else
/// as a whole by that key narrowed to the columns every keyed step has
/// ([`exchange_plan`]) — unless two stages route by more columns: a window aggregation
/// ends a first stage routed by a finer key (more distinct keys to spread its per-event
/// work), the second stage taking only the windows' rows on one thread.
pub fn wide_plan(program: &crate::hir::Program, pipeline: &Pipeline, task: &Task) -> Result<Wide, String> {
    // A join of two branches of the table: as a whole, each side routed by its join key.
    let joined = match joins(task) {
        true => match join_exchange(program, pipeline, task) {
            Ok(exchange) => return Ok(Wide::Whole(exchange)),
            Err(why) => Some(why),
        },
        false => None,
    };
    let refused = match keyed_by(program, task, None) {
        Ok(exchange) => return Ok(Wide::Whole(exchange)),
        Err(refused) => refused,
    };
    let why = refused.why.clone();
    match (narrowed(program, task, refused), stage_plan(program, task)) {
        (Ok(whole), Ok(stages)) if stages.exchange.key.len() > whole.key.len() => {
            let key: Vec<String> = whole.key.iter().map(ToString::to_string).collect();
            let why = format!(
                "the first stage keeps the finer key (as a whole, the task would be routed by ({}) alone)",
                key.join(", ")
            );
            Ok(Wide::Staged(stages, why))
        }
        (Ok(whole), _) => Ok(Wide::Whole(whole)),
        (Err(_), Ok(stages)) => Ok(Wide::Staged(stages, why)),
        (Err(_), Err(_)) => Err(joined.map_or(why, |join| format!("it joins streams, and {join}"))),
    }
}

/// The key task `task` can be run N-wide by as a whole, or why it cannot. The key is its
/// first keyed step's; when a later step or another branch is keyed by only some of those
/// columns, the key narrows to the columns every keyed step has (a Top-N per user after
/// counts per user and category is routed by the user): rows of a key of any step then
/// still meet in one worker.
pub fn exchange_plan(program: &crate::hir::Program, task: &Task) -> Result<Exchange, String> {
    keyed_by(program, task, None).or_else(|refused| narrowed(program, task, refused))
}

/// [`exchange_plan`] once the first key was `refused`: by the key narrowed until every
/// keyed step has its columns, or why not (the first refusal's reason when no column is
/// left, else the reason met last).
fn narrowed(program: &crate::hir::Program, task: &Task, mut refused: Refusal) -> Result<Exchange, String> {
    let why = refused.why.clone();
    // Each round drops the components some keyed step lacks: the key only shrinks.
    loop {
        let route = without(&refused.route, &refused.missing);
        // Refused for another reason than the key (once narrowed: that reason), or with
        // no column left.
        if refused.missing.is_empty() {
            return Err(refused.why);
        }
        if route.is_empty() {
            return Err(why);
        }
        match keyed_by(program, task, Some(&route)) {
            Ok(exchange) => return Ok(exchange),
            Err(again) => refused = again,
        }
    }
}

/// `items` but those at the positions `missing`.
fn without<T: Clone>(items: &[T], missing: &[usize]) -> Vec<T> {
    (items.iter().enumerate()).filter(|(k, _)| !missing.contains(k)).map(|(_, item)| item.clone()).collect()
}

/// [`exchange_plan`] by the key of the task's first keyed step (`route` `None`), or by
/// `route`, expressions over the source row every keyed step must have.
fn keyed_by(program: &crate::hir::Program, task: &Task, route: Option<&[Expr]>) -> Result<Exchange, Refusal> {
    let Input::Table(id) = task.input else {
        return Err("it reads two tables (a join) or constant rows".into());
    };
    if program.tables[id.0].is_changelog_source() {
        return Err(format!("`{}` is read as a changelog", program.tables[id.0].name).into());
    }
    let sig = |e: &Expr| e.to_string();
    let mut found: Option<Exchange> = route.map(|r| Exchange { key: r.to_vec(), ..Exchange::default() });
    // Per (branch, step): the key map of its output, for branches continuing from it.
    let mut maps: HashMap<(usize, usize), KeyMap> = HashMap::new();
    for (b, branch) in task.branches.iter().enumerate() {
        if matches!(branch.target, Target::Join { .. }) || matches!(branch.from, Origin::Join(_) | Origin::Second) {
            return Err("it joins streams".into());
        }
        let (start, map) = match branch.from {
            Origin::Window { branch: wb, step: ws } => match maps.get(&(wb, ws)) {
                Some(m) => (0, m.clone()),
                None => return Err("a branch continues from a window that is not keyed by the route".into()),
            },
            _ => {
                let first = branch.steps.iter().position(|s| step_key(s).is_some());
                let Some(s) = first else {
                    let appends = match branch.target {
                        Target::Sink { table, .. } => program.tables[table.0].primary_key.is_empty(),
                        Target::Join { .. } => false,
                        Target::Stage => true,
                    };
                    if !appends {
                        return Err("a branch without a key writes a table with a primary key".into());
                    }
                    continue;
                };
                if branch.steps[..s].iter().any(|st| matches!(st, Step::Lookup(_))) {
                    return Err("a lookup join comes before the key".into());
                }
                if branch.steps.iter().any(|st| {
                    matches!(st, Step::WindowAggregate(w) if w.proctime) || matches!(st, Step::Over(o) if o.proctime)
                }) {
                    return Err("it has windows of processing time (each worker would read its own clock)".into());
                }
                let key = step_key(&branch.steps[s]).unwrap_or_default();
                if key.is_empty() {
                    return Err("its first aggregation has no key but the window".into());
                }
                // Every branch's first key over the source row has the route's columns.
                let routed = key_over_input(&branch.steps, s, &key);
                if routed.iter().any(|e| unstable_over(&program.tables[id.0], e)) {
                    return Err("its key reads the clock or calls a Rust function".into());
                }
                let exchange = found.get_or_insert_with(|| Exchange { key: routed.clone(), ..Exchange::default() });
                // Which route component each column of the step's key is.
                let component: Vec<Option<usize>> =
                    routed.iter().map(|e| exchange.key.iter().position(|r| sig(r) == sig(e))).collect();
                let at: Vec<Option<usize>> =
                    (0..exchange.key.len()).map(|k| component.iter().position(|&c| c == Some(k))).collect();
                if at.iter().any(Option::is_none) {
                    let missing = (0..at.len()).filter(|&k| at[k].is_none()).collect();
                    return Err(Refusal {
                        why: "its branches are keyed differently".into(),
                        route: exchange.key.clone(),
                        missing,
                    });
                }
                exchange.positions.insert((b, s), at.into_iter().flatten().collect());
                // The keyed step's output: its key columns, as route components.
                let out: KeyMap = match &branch.steps[s] {
                    Step::WindowAggregate(w) => {
                        let mut j = 0;
                        w.group
                            .iter()
                            .map(|g| {
                                g.as_ref().ok().and_then(|_| {
                                    j += 1;
                                    component[j - 1]
                                })
                            })
                            .collect()
                    }
                    Step::Aggregate(_) => component.clone(),
                    // Top-N and OVER keep the input's columns: the key's plain columns.
                    _ => {
                        let width = key.iter().filter_map(column).max().map_or(0, |m| m + 1);
                        let mut out = vec![None; width];
                        for (j, e) in key.iter().enumerate() {
                            if let Some(c) = column(e) {
                                out[c] = component[j];
                            }
                        }
                        out
                    }
                };
                maps.insert((b, s), out.clone());
                (s + 1, out)
            }
        };
        let route_key = found.as_ref().map(|e| e.key.clone()).unwrap_or_default();
        let positions = found.as_mut().map(|e| &mut e.positions);
        follow(b, &branch.steps[start..], start, map, route_key.len(), &mut maps, positions)
            .and_then(|out| sink_keeps(program, branch, &out, route_key.len()))
            .map_err(|lacking| Refusal {
                why: lacking_why(&lacking, "its first key", "a later step is keyed by fewer columns than the first"),
                route: route_key,
                missing: lacking.missing,
            })?;
    }
    found.filter(|e| !e.positions.is_empty()).ok_or_else(|| "it has no keyed step".into())
}

/// Which route key components a branch's steps lose, and whether the table it writes lost
/// them (else a keyed step did).
struct Lacking {
    missing: Vec<usize>,
    by_sink: bool,
}

/// Follows branch `b`'s `steps` (from its step `first`) from rows whose key map is `map`:
/// every keyed step must keep the `components` route key components together (else: the
/// components a step lacks). Records each step's output map in `maps` and, with
/// `positions`, where the components are in each keyed step's key; gives the map of the
/// branch's output.
fn follow(
    b: usize,
    steps: &[Step],
    first: usize,
    mut map: KeyMap,
    components: usize,
    maps: &mut HashMap<(usize, usize), KeyMap>,
    mut positions: Option<&mut HashMap<(usize, usize), Vec<usize>>>,
) -> Result<KeyMap, Lacking> {
    for (s, step) in (first..).zip(steps) {
        // A later keyed step must keep every key component together.
        if step_key(step).is_some() {
            let Some(at) = positions_in(step, &map, components) else {
                let missing = (0..components).filter(|&k| positions_in_one(step, &map, k).is_none()).collect();
                return Err(Lacking { missing, by_sink: false });
            };
            if let Some(p) = positions.as_deref_mut() {
                p.insert((b, s), at);
            }
        }
        map = map_through(step, &map);
        maps.insert((b, s), map.clone());
    }
    Ok(map)
}

/// Whether the primary key of the table branch `branch` writes (if any) keeps the
/// `components` route key components together, given the key map `out` of the branch's
/// output, so that one key's changes come from one worker (else: the components it
/// lacks). A key column the INSERT does not write (NULL) carries none.
fn sink_keeps(
    program: &crate::hir::Program,
    branch: &crate::plan::Branch,
    out: &KeyMap,
    components: usize,
) -> Result<(), Lacking> {
    let Target::Sink { table, columns, .. } = &branch.target else { return Ok(()) };
    let key = &program.tables[table.0].primary_key;
    if key.is_empty() {
        return Ok(());
    }
    let sink: Vec<usize> = key.iter().filter_map(|k| columns.iter().position(|c| c == k)).collect();
    let missing: Vec<usize> =
        (0..components).filter(|&k| !sink.iter().any(|&c| out.get(c).copied().flatten() == Some(k))).collect();
    match missing.is_empty() {
        true => Ok(()),
        false => Err(Lacking { missing, by_sink: true }),
    }
}

/// Why a task is refused when its rows cannot be routed by what `lacking` lacks (`key`:
/// what they are routed by; `steps`: the reason when a keyed step lacks them).
fn lacking_why(lacking: &Lacking, key: &str, steps: &str) -> String {
    match lacking.by_sink {
        true => format!(
            "a table it writes has a primary key without the columns of {key} (one key's changes would come from \
             several workers)"
        ),
        false => steps.to_string(),
    }
}

/// `e`, an expression over the rows `steps` output, as one over the rows entering them:
/// projections inlined, a grouped column traced to its group expression; `None` when it
/// is computed by a step (an aggregate, a window bound, a rank, a looked-up column).
fn traced(steps: &[Step], e: &Expr) -> Option<Expr> {
    let mut e = e.clone();
    for step in steps.iter().rev() {
        e = match step {
            Step::Filter(_) => e,
            Step::Project(exprs) => e.substituted(exprs),
            Step::WindowAggregate(w) => over_group(&e, &w.group.iter().map(|g| g.as_ref().ok()).collect::<Vec<_>>())?,
            Step::Aggregate(g) => over_group(&e, &g.group.iter().map(Some).collect::<Vec<_>>())?,
            Step::TopN(_) | Step::Over(_) | Step::Lookup(_) => return None,
        };
    }
    Some(e)
}

/// `e`, over an aggregation's output, over its input: when it reads only columns of its
/// `group` that are expressions over the input (not window bounds).
fn over_group(e: &Expr, group: &[Option<&Expr>]) -> Option<Expr> {
    let mut read = Vec::new();
    e.columns(&mut read);
    if !read.iter().all(|&c| matches!(group.get(c), Some(Some(_)))) {
        return None;
    }
    // The window bounds are not read: any expression stands in for them.
    let group: Vec<Expr> = group.iter().map(|g| g.cloned().unwrap_or_else(|| e.clone())).collect();
    Some(e.substituted(&group))
}

/// The steps of a task run N-wide that its router runs before routing a row: the filters
/// and projections its one input branch starts with, up to its first keyed step (branch,
/// number of steps) — when one branch reads the input, no late-data table takes its late
/// rows (written as the source read them; `late_sinks`: the pipeline's), and a projection
/// narrows the row.
pub fn router_steps(task: &Task, late_sinks: &[(crate::hir::TableId, crate::hir::TableId)]) -> Option<(usize, usize)> {
    let Input::Table(id) = task.input else { return None };
    if late_sinks.iter().any(|(source, _)| *source == id) {
        return None;
    }
    let mut inputs = task.branches.iter().enumerate().filter(|(_, b)| b.from == Origin::Input);
    let (b, branch) = inputs.next()?;
    if inputs.next().is_some() {
        return None;
    }
    let steps = branch.steps.iter().position(|s| !matches!(s, Step::Filter(_) | Step::Project(_)))?;
    branch.steps[..steps].iter().any(|s| matches!(s, Step::Project(_))).then_some((b, steps))
}

/// The steps the router of a task run N-wide runs before routing a row, per branch
/// (branch, number of steps): [`router_steps`]'s one branch, or for a task joining two
/// branches of its table (`sides`: [`Exchange::sides`]) the filters and projections each
/// side starts with, when every side's include a projection (a view of the table) and no
/// late-data table takes the table's late rows. Empty when the router runs none.
pub fn router_prefix(
    task: &Task,
    late_sinks: &[(crate::hir::TableId, crate::hir::TableId)],
    sides: &[(usize, Vec<Expr>)],
) -> Vec<(usize, usize)> {
    if sides.is_empty() {
        return router_steps(task, late_sinks).into_iter().collect();
    }
    let Input::Table(id) = task.input else { return Vec::new() };
    let inputs = task.branches.iter().filter(|b| b.from == Origin::Input).count();
    if late_sinks.iter().any(|(source, _)| *source == id) || inputs != sides.len() {
        return Vec::new();
    }
    let prefix = |b: usize| {
        let steps = &task.branches[b].steps;
        let n = steps.iter().position(|s| !matches!(s, Step::Filter(_) | Step::Project(_))).unwrap_or(steps.len());
        steps[..n].iter().any(|s| matches!(s, Step::Project(_))).then_some((b, n))
    };
    sides.iter().map(|(b, _)| prefix(*b)).collect::<Option<Vec<_>>>().unwrap_or_default()
}

/// A task run N-wide in two stages: the first, N-wide by `exchange`, up to the window
/// aggregation `window` (branch, step of the task); the second, on one thread, continues
/// from that aggregation's output as the workers send it (`dfl::stage`).
#[derive(Debug, Clone)]
pub struct Stages {
    pub first: Task,
    pub exchange: Exchange,
    pub rest: Task,
    pub window: (usize, usize),
    /// Per branch of the task: whether it runs in the second stage (the window's own
    /// branch runs in both: up to the window in the first).
    pub later: Vec<bool>,
}

/// Whether the first part of task `task` can run N-wide (when it cannot as a whole, or
/// only by fewer columns: [`wide_plan`]), up to an event-time window aggregation keyed by
/// the route (whose output — a
/// row per key and window, fired once — is much less than its input), the rest of the task
/// continuing on one thread from the workers' windows (Nexmark q5: the count per auction
/// N-wide, the greatest count per window and the join on the window after it). The
/// earliest such aggregation is taken.
pub fn stage_plan(program: &crate::hir::Program, task: &Task) -> Result<Stages, String> {
    if !matches!(task.input, Input::Table(_)) {
        return Err("it reads two tables (a join) or constant rows".into());
    }
    let mut why = None;
    for (b, branch) in task.branches.iter().enumerate().filter(|(_, br)| br.from == Origin::Input) {
        for (s, step) in branch.steps.iter().enumerate() {
            let Step::WindowAggregate(w) = step else { continue };
            if w.proctime {
                continue;
            }
            let Some((first, rest, later)) = split_at(task, b, s) else { continue };
            match exchange_plan(program, &first) {
                Ok(exchange) => return Ok(Stages { first, exchange, rest, window: (b, s), later }),
                Err(e) => why = why.or(Some(e)),
            }
        }
    }
    Err(why.unwrap_or_else(|| "no window aggregation of event time could end a first stage".into()))
}

/// Task `task` split at the window aggregation of branch `b`'s step `s`: the branches
/// before it (`b` ending there), and those continuing from its output, as tasks of their
/// own; `None` when a join or a shared window would have inputs on both sides.
fn split_at(task: &Task, b: usize, s: usize) -> Option<(Task, Task, Vec<bool>)> {
    let branches = &task.branches;
    // Which branches continue from the window's output (`b`'s rest among them).
    let mut later = vec![false; branches.len()];
    later[b] = true;
    let feeds = |later: &[bool], j: usize| {
        branches
            .iter()
            .enumerate()
            .filter(move |(_, c)| matches!(c.target, Target::Join { join, .. } if join == j))
            .map(move |(c, _)| later[c])
            .collect::<Vec<bool>>()
    };
    let mut changed = true;
    while changed {
        changed = false;
        for c in 0..branches.len() {
            let is_later = match branches[c].from {
                Origin::Window { branch, step } if branch == b => step >= s,
                Origin::Window { branch, .. } => later[branch],
                Origin::Join(j) => feeds(&later, j).iter().any(|l| *l),
                Origin::Input | Origin::Second => false,
            };
            if c != b && is_later && !later[c] {
                later[c] = true;
                changed = true;
            }
        }
    }
    // Both stages whole: a join's inputs all on one side, as is a window's continuation.
    for (c, branch) in branches.iter().enumerate() {
        if let Target::Join { join, .. } = branch.target
            && feeds(&later, join).iter().any(|l| *l != later[c])
        {
            return None;
        }
        if let Origin::Window { branch: wb, .. } = branch.from
            && wb != b
            && later[wb] != later[c]
        {
            return None;
        }
    }
    let Step::WindowAggregate(window) = &branches[b].steps[s] else { return None };
    // The first stage: the branches before the window, `b` ending in it.
    let mut first = Vec::new();
    let mut first_index = vec![usize::MAX; branches.len()];
    for (c, branch) in branches.iter().enumerate() {
        if c == b {
            first_index[c] = first.len();
            let mut head = branch.clone();
            head.steps.truncate(s + 1);
            head.target = Target::Stage;
            first.push(head);
        } else if !later[c] {
            first_index[c] = first.len();
            first.push(branch.clone());
        }
    }
    for branch in &mut first {
        if let Origin::Window { branch: wb, .. } = &mut branch.from {
            *wb = first_index[*wb];
        }
    }
    // The second: `b`'s rest from the window's output, then the branches after it.
    let mut tail = branches[b].clone();
    tail.steps.drain(..=s);
    tail.from = Origin::Input;
    let mut rest = vec![tail];
    let mut rest_index = vec![usize::MAX; branches.len()];
    rest_index[b] = 0;
    for (c, branch) in branches.iter().enumerate() {
        if later[c] && c != b {
            rest_index[c] = rest.len();
            rest.push(branch.clone());
        }
    }
    for branch in &mut rest[1..] {
        branch.from = match branch.from {
            Origin::Window { branch: wb, step } if wb == b && step == s => Origin::Input,
            Origin::Window { branch: wb, step } if wb == b => Origin::Window { branch: 0, step: step - s - 1 },
            Origin::Window { branch: wb, step } => Origin::Window { branch: rest_index[wb], step },
            other => other,
        };
    }
    let types = window_output_types(window);
    Some((
        Task { input: task.input.clone(), branches: first },
        Task { input: Input::Stage(types), branches: rest },
        later,
    ))
}

/// The column types of a window aggregation's output: its group columns (window bounds
/// among them), the legacy window's start, end and time, its aggregates.
fn window_output_types(w: &crate::plan::WindowAggregate) -> Vec<crate::types::Type> {
    let bound = || crate::types::Type::timestamp(3);
    let mut types: Vec<crate::types::Type> =
        w.group.iter().map(|g| g.as_ref().map_or_else(|_| bound(), |e| e.ty.clone())).collect();
    if w.legacy {
        types.extend([bound(), bound(), bound()]);
    }
    types.extend(w.aggregates.iter().map(|a| a.ty.clone()));
    types
}

/// The route keys of a task joining two tables (`'scale-out.mode' = 'partition'`
/// repartitions both by them): per table, the components of the join's equality key that
/// both tables' rows compute (through projections and the group columns of aggregations
/// before the join), over the table's row, so that rows that join meet in one partition.
/// The steps after the join must be keyed by at least those components; over a table read
/// as a changelog (`upsert-kafka`), they must read its PRIMARY KEY only (a deletion has no
/// other column).
pub fn join_routes(program: &crate::hir::Program, pipeline: &Pipeline, task: &Task) -> Result<[Vec<Expr>; 2], String> {
    let Input::Tables(..) = task.input else { return Err("it does not read two tables".into()) };
    join_route(program, pipeline, task).map(|r| r.routes)
}

/// How the rows of a task's one join are routed so that rows that join meet: by the
/// components of its equality key that both sides compute, over each input's row (see
/// [`join_routes`] across processes and [`join_exchange`] in one).
struct JoinRoute {
    /// The join (an index into the pipeline's joins).
    join: usize,
    /// The components of its equality key that route (their positions in it).
    routed: Vec<usize>,
    /// Per input (the two tables, or the left and right sides of a join of one table's
    /// branches), the routed components over its table's row.
    routes: [Vec<Expr>; 2],
}

/// The [`JoinRoute`] of task `task`: reading two tables, one per side of the join (the
/// first's rows start [`Origin::Input`] branches, the second's [`Origin::Second`]); or
/// reading one table, two of whose branches feed the join's sides.
fn join_route(program: &crate::hir::Program, pipeline: &Pipeline, task: &Task) -> Result<JoinRoute, String> {
    let (a, b, one) = match task.input {
        Input::Tables(a, b) => (a, b, false),
        Input::Table(a) => (a, a, true),
        Input::Values(_) | Input::Stage(_) => return Err("it reads constant rows".into()),
    };
    let mut joins = task.branches.iter().filter_map(|b| match (&b.target, b.from) {
        (&Target::Join { join, .. }, _) | (_, Origin::Join(join)) => Some(join),
        _ => None,
    });
    let Some(j) = joins.next() else { return Err("it reads two tables without joining them".into()) };
    if joins.any(|other| other != j) {
        return Err("it joins more than two streams".into());
    }
    let join = &pipeline.joins[j];
    // Per key component, its expression over each table's row (where it is one).
    let mut traces: Vec<[Option<Expr>; 2]> = vec![[None, None]; join.keys.len()];
    let mut fed = [false; 2];
    if task.branches.iter().any(|b| matches!((b.from, &b.target), (Origin::Window { .. }, Target::Join { .. }))) {
        return Err("a table's rows reach the join through a window aggregation another INSERT shares (write that \
                    INSERT from an aggregation of its own)"
            .into());
    }
    for branch in &task.branches {
        match (branch.from, &branch.target) {
            (Origin::Input | Origin::Second, &Target::Join { side, .. }) => {
                let input = match one {
                    true => usize::from(side == Side::Right),
                    false => usize::from(branch.from == Origin::Second),
                };
                if std::mem::replace(&mut fed[input], true) {
                    return Err("a table feeds the join twice".into());
                }
                for (k, (l, r)) in join.keys.iter().enumerate() {
                    let key = if side == Side::Left { l } else { r };
                    let table = &program.tables[[a, b][input].0];
                    traces[k][input] = traced(&branch.steps, key).filter(|e| !unstable_over(table, e));
                }
            }
            (Origin::Input | Origin::Second, &Target::Sink { .. }) if one => {
                return Err(
                    "a branch besides the join reads the table (the row's workers are those of the join's sides)"
                        .into(),
                );
            }
            (Origin::Input | Origin::Second, &Target::Sink { table, .. }) => {
                let keyed = branch.steps.iter().any(|s| step_key(s).is_some());
                if keyed || !program.tables[table.0].primary_key.is_empty() {
                    return Err("a branch besides the join keeps state or writes a table with a primary key".into());
                }
            }
            _ => {}
        }
    }
    if fed != [true, true] {
        return Err("its join does not read both tables".into());
    }
    // The components both tables compute route; the others need not. Narrowed, as
    // `exchange_plan` narrows, to the components every keyed step after the join has: rows
    // of one join key still meet in one instance.
    let mut routed: Vec<usize> = (0..join.keys.len()).filter(|&k| traces[k].iter().all(Option::is_some)).collect();
    if routed.is_empty() {
        return Err("its join has no equality key computed from the columns of both sides' tables (a key computed by \
                    an aggregation, a Top-N, OVER or lookup before the join, or one that reads the clock or calls \
                    Rust, does not route)"
            .into());
    }
    while let Err(lacking) = after_join(program, task, join, &routed, None)? {
        if lacking.missing.is_empty() || lacking.missing.len() >= routed.len() {
            return Err(after_join_why(&lacking));
        }
        routed = without(&routed, &lacking.missing);
    }
    let route = |input: usize| routed.iter().filter_map(|&k| traces[k][input].clone()).collect::<Vec<Expr>>();
    let routes = [route(0), route(1)];
    for (id, key) in [a, b].into_iter().zip(&routes) {
        let t = &program.tables[id.0];
        let mut read = Vec::new();
        key.iter().for_each(|e| e.columns(&mut read));
        if t.is_changelog_source() && !read.iter().all(|c| t.primary_key.contains(c)) {
            return Err(format!(
                "`{}` is read as a changelog and the join key is not of its PRIMARY KEY (its deletions have no other \
                 column to route by)",
                t.name
            ));
        }
    }
    Ok(JoinRoute { join: j, routed, routes })
}

/// Whether task `task` joins streams.
fn joins(task: &Task) -> bool {
    task.branches.iter().any(|b| matches!(b.target, Target::Join { .. }) || matches!(b.from, Origin::Join(_)))
}

/// How a task joining two branches of its one table runs N-wide as a whole (Nexmark's
/// joins of persons, auctions and bids, views of one table): each side's rows routed by
/// the join key components both compute ([`join_route`]), so that rows that join meet in
/// one worker; a row feeding both sides goes to the worker of each side's key, and each
/// worker runs a side's branch only for the rows whose key it owns. Keyed steps before the
/// join must be keyed by those components, and the steps after it narrow them as in
/// [`exchange_plan`].
pub fn join_exchange(program: &crate::hir::Program, pipeline: &Pipeline, task: &Task) -> Result<Exchange, String> {
    let ids = match task.input {
        Input::Table(id) => vec![id],
        Input::Tables(a, b) => vec![a, b],
        Input::Values(_) | Input::Stage(_) => return Err("it reads constant rows".into()),
    };
    if let Some(table) = ids.iter().map(|id| &program.tables[id.0]).find(|t| t.is_changelog_source()) {
        return Err(format!("`{}` is read as a changelog", table.name));
    }
    let proctime =
        |st: &Step| matches!(st, Step::WindowAggregate(w) if w.proctime) || matches!(st, Step::Over(o) if o.proctime);
    if task.branches.iter().any(|b| b.steps.iter().any(proctime)) {
        return Err("it has windows of processing time (each worker would read its own clock)".into());
    }
    let route = join_route(program, pipeline, task)?;
    if pipeline.joins[route.join].versioned.is_some() {
        return Err("its join is a temporal join (FOR SYSTEM_TIME AS OF)".into());
    }
    let mut exchange = Exchange { key: route.routes[0].clone(), ..Exchange::default() };
    exchange.joins.insert(route.join, route.routed.clone());
    // Where the route components are in the keys of the steps after the join (which
    // `join_route` narrowed them to).
    let join = &pipeline.joins[route.join];
    if let Err(lacking) = after_join(program, task, join, &route.routed, Some(&mut exchange.positions))? {
        return Err(after_join_why(&lacking));
    }
    for (b, branch) in task.branches.iter().enumerate() {
        let Target::Join { side, .. } = branch.target else { continue };
        // Which input's route: the side's (one table), or the side's table's (two).
        let input = match ids.len() {
            1 => usize::from(side == Side::Right),
            _ => usize::from(branch.from == Origin::Second),
        };
        let key = route.routes[input].clone();
        // A keyed step before the join must keep the rows of a join key together.
        for (s, step) in branch.steps.iter().enumerate() {
            let Some(keyed) = step_key(step) else { continue };
            let over: Vec<Option<String>> =
                keyed.iter().map(|e| traced(&branch.steps[..s], e).map(|e| e.to_string())).collect();
            let at: Option<Vec<usize>> =
                key.iter().map(|k| over.iter().position(|o| o.as_deref() == Some(k.to_string().as_str()))).collect();
            let Some(at) = at else {
                return Err("a step before the join is keyed by other columns than the join key".into());
            };
            exchange.positions.insert((b, s), at);
        }
        exchange.sides.push((b, key));
    }
    Ok(exchange)
}

/// Why a join task is refused when the steps after its join lack route components.
fn after_join_why(lacking: &Lacking) -> String {
    lacking_why(lacking, "the join key", "a step after the join is keyed by fewer columns than the join key")
}

/// Follows the steps after join `join` of task `task` (and branches continuing from their
/// windows), the rows routed by the join key components `routed`: `Ok(Err(lacking))` when
/// a keyed step, or the primary key of a table written, lacks some of them (their
/// positions in `routed`).
fn after_join(
    program: &crate::hir::Program,
    task: &Task,
    join: &crate::plan::WindowJoin,
    routed: &[usize],
    mut positions: Option<&mut HashMap<(usize, usize), Vec<usize>>>,
) -> Result<Result<(), Lacking>, String> {
    let mut maps: HashMap<(usize, usize), KeyMap> = HashMap::new();
    for (bi, branch) in task.branches.iter().enumerate() {
        let map = match branch.from {
            // The join's rows: the left side's columns, then the right side's; a route
            // component is where either side's key is a plain column.
            Origin::Join(_) => {
                // A side an outer join pads with NULLs is no route: its unmatched rows are
                // everywhere.
                let (left_kept, right_kept) = match join.kind {
                    JoinKind::Inner | JoinKind::Cross => (true, true),
                    JoinKind::Left => (true, false),
                    JoinKind::Right => (false, true),
                    JoinKind::Full => (false, false),
                };
                let mut map: KeyMap = vec![None; join.left.len() + join.right.len()];
                for (m, &k) in routed.iter().enumerate() {
                    let (l, r) = &join.keys[k];
                    if let Some(c) = column(l).filter(|_| left_kept) {
                        map[c] = Some(m);
                    }
                    if let Some(c) = column(r).filter(|_| right_kept) {
                        map[join.left.len() + c] = Some(m);
                    }
                }
                map
            }
            Origin::Window { branch: wb, step: ws } => match maps.get(&(wb, ws)) {
                Some(map) => map.clone(),
                None => {
                    return Err("an INSERT shares a window aggregation with a table's rows before the join \
                                (write it from an aggregation of its own)"
                        .into());
                }
            },
            Origin::Input | Origin::Second => continue,
        };
        let followed = follow(bi, &branch.steps, 0, map, routed.len(), &mut maps, positions.as_deref_mut())
            .and_then(|out| sink_keeps(program, branch, &out, routed.len()));
        if let Err(lacking) = followed {
            return Ok(Err(lacking));
        }
    }
    Ok(Ok(()))
}

/// Whether the query keeps keyed state per Kafka partition (`SET 'scale-out.mode' =
/// 'partition'`), so that processes of the pipeline share its consumer groups.
pub fn per_partition(program: &crate::hir::Program) -> bool {
    program.settings.get("scale-out.mode").is_some_and(|m| m.trim().eq_ignore_ascii_case("partition"))
}

/// How a task of a pipeline keeping state per Kafka partition ([`per_partition`]) runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partitioning {
    /// As usual: it keeps no keyed state, or reads no consumer group.
    Whole,
    /// An instance of its operators per partition of its `kafka` table: the topic is keyed
    /// by a part of the state's key.
    PerPartition,
    /// Its table's records are repartitioned by the state's key through a topic of the
    /// pipeline's own (`dfl::connectors::kafka::shuffle`), an instance of its operators
    /// per partition of that topic.
    Repartitioned,
}

/// With [`per_partition`]: how task `task` runs ([`Partitioning`]), or why its state cannot
/// be split by partition (`Err`).
pub fn partition_plan(program: &crate::hir::Program, pipeline: &Pipeline, task: &Task) -> Result<Partitioning, String> {
    let keyed = task.branches.iter().any(|b| {
        matches!(b.target, Target::Join { .. })
            || !matches!(b.from, Origin::Input)
            || b.steps.iter().any(|s| step_key(s).is_some())
    });
    let tables = match task.input {
        Input::Table(id) => vec![id],
        Input::Tables(a, b) => vec![a, b],
        Input::Values(_) | Input::Stage(_) => return Ok(Partitioning::Whole),
    };
    let grouped = |id: crate::hir::TableId| {
        let t = &program.tables[id.0];
        matches!(t.connector.as_str(), "kafka" | "upsert-kafka") && t.options.contains_key("properties.group.id")
    };
    if !keyed && !program.tables[tables[0].0].is_changelog_source() || !tables.iter().any(|&id| grouped(id)) {
        return Ok(Partitioning::Whole);
    }
    if tables.len() == 2 {
        // A join: both tables repartitioned by the join key through one topic.
        join_routes(program, pipeline, task)?;
        let mut topics = Vec::new();
        for &id in &tables {
            let t = &program.tables[id.0];
            if !grouped(id) {
                return Err(format!("`{}` is not a `kafka` or `upsert-kafka` table read in a consumer group", t.name));
            }
            match t
                .options
                .get("topic")
                .filter(|topic| !topic.contains(';') && !t.options.contains_key("topic-pattern"))
            {
                Some(topic) if topics.contains(&topic) => {
                    return Err(format!("both tables of the join read the topic '{topic}'"));
                }
                Some(topic) => topics.push(topic),
                None => {
                    return Err(format!(
                        "`{}` reads several topics or a 'topic-pattern': only tables of one topic are repartitioned",
                        t.name
                    ));
                }
            }
        }
        return Ok(Partitioning::Repartitioned);
    }
    let exchange = partition_exchange(program, task)?;
    let t = &program.tables[tables[0].0];
    if t.connector != "kafka" {
        return Err(format!("`{}` is not a `kafka` table", t.name));
    }
    let one_topic =
        t.options.get("topic").is_some_and(|topic| !topic.contains(';')) && !t.options.contains_key("topic-pattern");
    // In two stages, the first stage's partitions are told apart by their number.
    if !one_topic && exchange_plan(program, task).is_err() {
        return Err(format!(
            "`{}` reads several topics or a 'topic-pattern': a task run in two stages reads a table of one topic",
            t.name
        ));
    }
    // Records of one key are in one partition when the topic is keyed by a part of the
    // state's key (declared by 'key.fields'); else they are repartitioned by it.
    let repartitioned = || match one_topic {
        true => Ok(Partitioning::Repartitioned),
        false => Err(format!(
            "`{}` is not keyed by its key and reads several topics or a 'topic-pattern': only a table of one \
                 topic is repartitioned",
            t.name
        )),
    };
    let Some(fields) = t.options.get("key.fields") else { return repartitioned() };
    let keyed_by: Vec<usize> = exchange.key.iter().filter_map(column).collect();
    let covered = fields
        .split(';')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .all(|f| t.column(f).is_some_and(|c| keyed_by.contains(&c)));
    if covered { Ok(Partitioning::PerPartition) } else { repartitioned() }
}

/// The key task `task` (of one table) keeps its state per Kafka partition by: the key it
/// runs N-wide by as a whole, or else its first stage's ([`partition_stages`]).
pub fn partition_exchange(program: &crate::hir::Program, task: &Task) -> Result<Exchange, String> {
    exchange_plan(program, task).or_else(|why| stage_plan(program, task).map(|s| s.exchange).map_err(|_| why))
}

/// With [`per_partition`]: the two stages of task `task` when it cannot keep its state per
/// partition as a whole but up to a window ([`stage_plan`]): the first stage runs per
/// partition, the second per partition of a topic of one partition the first writes its
/// window's rows to (`dfl::connectors::kafka::staged`).
pub fn partition_stages(program: &crate::hir::Program, task: &Task) -> Option<Stages> {
    match exchange_plan(program, task) {
        Ok(_) => None,
        Err(_) => stage_plan(program, task).ok(),
    }
}

/// How task `task`'s rows are repartitioned, as `dflc explain` shows it: by the key of its
/// state, or a join's by the join key of each table.
pub fn key_text(program: &crate::hir::Program, pipeline: &Pipeline, task: &Task) -> String {
    let over = |id: crate::hir::TableId, key: &[Expr]| {
        let t = &program.tables[id.0];
        let key: Vec<String> = key
            .iter()
            .map(|e| column(e).map_or_else(|| e.to_string(), |c| format!("`{}`", t.columns[c].name)))
            .collect();
        key.join(", ")
    };
    match task.input {
        Input::Table(id) => partition_exchange(program, task).map(|e| over(id, &e.key)).unwrap_or_default(),
        Input::Tables(a, b) => match join_routes(program, pipeline, task) {
            Ok([ka, kb]) => format!(
                "{} of `{}`, {} of `{}`",
                over(a, &ka),
                program.tables[a.0].name,
                over(b, &kb),
                program.tables[b.0].name
            ),
            Err(_) => String::new(),
        },
        Input::Values(_) | Input::Stage(_) => String::new(),
    }
}

/// The shuffle topic of task `task` repartitioning tables read in group `group`, as the
/// runtime names it (`dfl::connectors::kafka::shuffle::topic_name`).
pub fn shuffle_topic(group: &str, task: &str) -> String {
    topic_of(group, task, "repartition")
}

/// The stage topic of task `task` run in two stages with its tables read in group `group`
/// ([`partition_stages`]), as the runtime names it
/// (`dfl::connectors::kafka::staged::topic_name`).
pub fn stage_topic(group: &str, task: &str) -> String {
    topic_of(group, task, "stage")
}

fn topic_of(group: &str, task: &str, what: &str) -> String {
    format!("{group}-{task}-{what}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::SourceFile;

    /// The program and plan of `query` over `clicks`, of one task.
    fn planned(query: &str) -> (crate::hir::Program, Pipeline) {
        let text = format!(
            "CREATE TABLE clicks (user_id STRING, category STRING, price DOUBLE, ts TIMESTAMP(3), \
             WATERMARK FOR ts AS ts - INTERVAL '2' SECOND) WITH ('connector' = 'datagen');\n{query}"
        );
        let checked = crate::check(&SourceFile::new("q.sql", text));
        assert!(!checked.diagnostics.has_errors(), "{:?}", checked.diagnostics);
        let pipeline = crate::plan::plan(&checked.hir).expect("plans");
        assert_eq!(pipeline.tasks.len(), 1);
        (checked.hir, pipeline)
    }

    /// The exchange of the single task of `query` over `clicks`.
    fn exchange(query: &str) -> Result<Exchange, String> {
        let (program, pipeline) = planned(query);
        exchange_plan(&program, &pipeline.tasks[0])
    }

    /// How the single task of `query` over `clicks` runs N-wide.
    fn wide(query: &str) -> Result<Wide, String> {
        let (program, pipeline) = planned(query);
        wide_plan(&program, &pipeline, &pipeline.tasks[0])
    }

    #[test]
    fn each_side_of_a_join_of_one_table_is_routed_by_its_join_key() {
        // Sums per user and window joined with counts per category and window on the user
        // and the category: each side by its own column, the aggregations before the join
        // keyed by it, the join's key holding it first.
        let plan = wide(
            "CREATE VIEW s AS SELECT user_id, window_start, window_end, SUM(price) AS spent
             FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY user_id, window_start, window_end;
             CREATE VIEW c AS SELECT category, window_start, window_end, COUNT(*) AS n
             FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY category, window_start, window_end;
             CREATE TABLE out (user_id STRING, spent DOUBLE, n BIGINT) WITH ('connector' = 'print');
             INSERT INTO out SELECT s.user_id, s.spent, c.n FROM s JOIN c
             ON s.window_start = c.window_start AND s.window_end = c.window_end AND s.user_id = c.category;",
        );
        let Ok(Wide::Whole(e)) = plan else { panic!("runs N-wide as a whole: {plan:?}") };
        let sides: Vec<(usize, Vec<String>)> =
            e.sides.iter().map(|(b, key)| (*b, key.iter().map(ToString::to_string).collect())).collect();
        assert_eq!(sides, [(0, vec!["$0".to_string()]), (1, vec!["$1".to_string()])]);
        // The join's key is (window_start, window_end, user) or a permutation: the route is
        // where the user is.
        assert_eq!(e.joins.len(), 1);
        assert!(e.positions.keys().any(|(b, _)| *b == 0) && e.positions.keys().any(|(b, _)| *b == 1), "{e:?}");
        // Keyed by the window alone on one side: the join key does not route it.
        let err = wide(
            "CREATE VIEW s AS SELECT user_id, window_start, window_end, SUM(price) AS spent
             FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY user_id, window_start, window_end;
             CREATE VIEW m AS SELECT window_start, window_end, MAX(price) AS top
             FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end;
             CREATE TABLE out (user_id STRING, spent DOUBLE) WITH ('connector' = 'print');
             INSERT INTO out SELECT s.user_id, s.spent FROM s JOIN m
             ON s.window_start = m.window_start AND s.window_end = m.window_end AND s.spent >= m.top;",
        );
        assert!(err.is_err_and(|e| e.contains("joins streams, and its join has no equality key")));
        // A branch beside the join would run in every worker its row goes to.
        let err = wide(
            "CREATE TABLE out (user_id STRING, category STRING) WITH ('connector' = 'print');
             CREATE TABLE raw (user_id STRING) WITH ('connector' = 'print');
             EXECUTE STATEMENT SET BEGIN
             INSERT INTO out SELECT a.user_id, b.category FROM clicks AS a JOIN clicks AS b ON a.user_id = b.category;
             INSERT INTO raw SELECT user_id FROM clicks;
             END;",
        )
        .unwrap_err();
        assert!(err.contains("besides the join"), "{err}");
    }

    #[test]
    fn later_keyed_steps_know_where_the_route_key_is_in_their_key() {
        // A window keyed by (category, band, user_id) (the band computed in a view), then a
        // Top-N partitioned by the window and the same columns in another order.
        let e = exchange(
            "CREATE VIEW banded AS SELECT user_id, category, CAST(FLOOR(price / 25) AS DOUBLE) AS band, ts FROM clicks;
             CREATE TABLE out (window_start TIMESTAMP(3), band DOUBLE, category STRING, user_id STRING, n BIGINT, rn BIGINT)
             WITH ('connector' = 'print');
             INSERT INTO out SELECT window_start, band, category, user_id, n, rn FROM (
               SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, band, user_id, category ORDER BY n DESC) AS rn
               FROM (SELECT category, band, user_id, window_start, window_end, COUNT(*) AS n
                     FROM TABLE(TUMBLE(TABLE banded, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
                     GROUP BY category, band, user_id, window_start, window_end)
             ) WHERE rn <= 1;",
        )
        .expect("runs N-wide");
        assert_eq!(e.key.len(), 3);
        let mut keyed: Vec<(&(usize, usize), &Vec<usize>)> = e.positions.iter().collect();
        keyed.sort();
        // The window's key is the route key; the Top-N's has the window start first.
        let at: Vec<&Vec<usize>> = keyed.iter().map(|(_, p)| *p).collect();
        assert_eq!(at, [&vec![0, 1, 2], &vec![3, 1, 2]], "{keyed:?}");
    }

    #[test]
    fn the_route_key_narrows_to_the_columns_every_keyed_step_has() {
        // Counts per (user, category), then the categories' counts: routed by the category,
        // which the second GROUP BY's key holds in its first place.
        let e = exchange(
            "CREATE TABLE out (category STRING, n BIGINT) WITH ('connector' = 'print');
             INSERT INTO out SELECT category, COUNT(*) FROM (
               SELECT user_id, category, COUNT(*) AS c FROM clicks GROUP BY user_id, category
             ) GROUP BY category;",
        )
        .expect("runs N-wide");
        assert_eq!(e.key.iter().map(ToString::to_string).collect::<Vec<_>>(), ["$1"]);
        let mut keyed: Vec<(&(usize, usize), &Vec<usize>)> = e.positions.iter().collect();
        keyed.sort();
        let at: Vec<&Vec<usize>> = keyed.iter().map(|(_, p)| *p).collect();
        assert_eq!(at, [&vec![1], &vec![0]], "{keyed:?}");
        // Branches keyed by (user, category) and by the user: routed by the user.
        let e = exchange(
            "CREATE TABLE a (user_id STRING, category STRING, n BIGINT) WITH ('connector' = 'print');
             CREATE TABLE b (user_id STRING, n BIGINT) WITH ('connector' = 'print');
             EXECUTE STATEMENT SET BEGIN
             INSERT INTO a SELECT user_id, category, COUNT(*) FROM clicks GROUP BY user_id, category;
             INSERT INTO b SELECT user_id, COUNT(*) FROM clicks GROUP BY user_id;
             END;",
        )
        .expect("runs N-wide");
        assert_eq!(e.key.iter().map(ToString::to_string).collect::<Vec<_>>(), ["$0"]);
    }

    #[test]
    fn keyed_steps_without_a_common_column_are_refused() {
        let err = exchange(
            "CREATE TABLE out (category STRING, n BIGINT) WITH ('connector' = 'print');
             INSERT INTO out SELECT category, COUNT(*) FROM (
               SELECT user_id, MAX(category) AS category FROM clicks GROUP BY user_id
             ) GROUP BY category;",
        )
        .unwrap_err();
        assert!(err.contains("fewer columns"), "{err}");
        let err = exchange(
            "CREATE TABLE a (user_id STRING, n BIGINT) WITH ('connector' = 'print');
             CREATE TABLE b (category STRING, n BIGINT) WITH ('connector' = 'print');
             EXECUTE STATEMENT SET BEGIN
             INSERT INTO a SELECT user_id, COUNT(*) FROM clicks GROUP BY user_id;
             INSERT INTO b SELECT category, COUNT(*) FROM clicks GROUP BY category;
             END;",
        )
        .unwrap_err();
        assert!(err.contains("keyed differently"), "{err}");
        // Narrowed to the user, the task meets another obstacle: that one is said.
        let err = exchange(
            "CREATE VIEW p AS SELECT user_id, category, PROCTIME() AS pt FROM clicks;
             CREATE TABLE a (user_id STRING, category STRING, n BIGINT) WITH ('connector' = 'print');
             CREATE TABLE b (user_id STRING, n BIGINT) WITH ('connector' = 'print');
             EXECUTE STATEMENT SET BEGIN
             INSERT INTO a SELECT user_id, category, COUNT(*) FROM clicks GROUP BY user_id, category;
             INSERT INTO b SELECT user_id, COUNT(*) FROM TABLE(TUMBLE(TABLE p, DESCRIPTOR(pt), INTERVAL '1' MINUTE))
             GROUP BY user_id, window_start, window_end;
             END;",
        )
        .unwrap_err();
        assert!(err.contains("processing time"), "{err}");
    }
}
