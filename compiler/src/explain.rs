//! `explain`: the physical plan as a graph users read (`dflc explain FILE --format
//! text|mermaid|dot`). Nodes are the sources each task reads, the fused chains of
//! stateless steps, each stateful operator (with its key and the state it keeps), the
//! joins and the sinks; every node has an id (`t0.b1.s2`: task 0, branch 1, step 2) and a
//! parallelism. Edges follow the rows.

use crate::hir::{self, Program, TableId};
use crate::parallel::Partitioning;
use crate::plan::{Input, IntervalBounds, Origin, Pipeline, Step, Target, WindowJoin, Windows};

/// How `explain` prints the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Tasks and their nodes, one per line with their details, and where rows go.
    #[default]
    Text,
    /// A Mermaid flowchart (renders in GitHub and most Markdown viewers).
    Mermaid,
    /// Graphviz.
    Dot,
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "text" => Ok(Format::Text),
            "mermaid" => Ok(Format::Mermaid),
            "dot" => Ok(Format::Dot),
            other => Err(format!("unknown format '{other}': text, mermaid or dot")),
        }
    }
}

/// A node of the graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// `t0.src`, `t0.b1.s2`, `join0`, `sink.out`…
    pub id: String,
    /// `source`, `chain`, `window`, `group`, `top-n`, `over`, `lookup`, `join`, `sink`.
    pub kind: &'static str,
    /// What it does, one line per fused step.
    pub lines: Vec<String>,
    /// The key its state (or its exchange, with parallelism) is partitioned by.
    pub key: Option<String>,
    /// The state it keeps and how it is bounded; `None` for stateless nodes.
    pub state: Option<String>,
    /// The task (thread) it runs in; `None` for sinks shared by tasks.
    pub task: Option<usize>,
    pub parallelism: u32,
}

/// The physical plan as nodes and edges (indices into `nodes`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub edges: Vec<(usize, usize)>,
    /// Per task: how wide it runs and why (with a parallelism above 1 requested).
    pub notes: Vec<(usize, String)>,
}

impl Graph {
    fn add(&mut self, node: Node) -> usize {
        match self.nodes.iter().position(|n| n.id == node.id) {
            Some(i) => i,
            None => {
                self.nodes.push(node);
                self.nodes.len() - 1
            }
        }
    }

    fn edge(&mut self, from: usize, to: usize) {
        if !self.edges.contains(&(from, to)) {
            self.edges.push((from, to));
        }
    }
}

/// The plan of `pipeline` printed as `format`.
pub fn explain(program: &Program, pipeline: &Pipeline, format: Format) -> String {
    let g = graph(program, pipeline);
    match format {
        Format::Text => text(program, &g),
        Format::Mermaid => mermaid(&g),
        Format::Dot => dot(&g),
    }
}

/// The graph of `pipeline`.
pub fn graph(program: &Program, pipeline: &Pipeline) -> Graph {
    let backend = match program.settings.get("state.backend").map(|v| v.trim().to_ascii_lowercase()) {
        Some(v) if v == "rocksdb" => "RocksDB",
        _ => "memory",
    };
    let ttl = program.settings.get("table.exec.state.ttl").filter(|v| !v.trim().is_empty() && v.trim() != "0");
    let forever = match ttl {
        Some(ttl) => format!("until unused for {ttl} (state TTL)"),
        None => "for ever (no state TTL)".to_string(),
    };
    let table = |t: TableId| &program.tables[t.0];
    let mut g = Graph::default();
    let mut joins: Vec<Option<usize>> = vec![None; pipeline.joins.len()];
    let mut join_node = |g: &mut Graph, j: usize, task: usize| -> usize {
        if let Some(i) = joins[j] {
            return i;
        }
        let join = &pipeline.joins[j];
        let (line, state) = join_text(j, join, backend, &forever);
        let keys: Vec<String> = join.keys.iter().map(|(l, r)| format!("{l} = {r}")).collect();
        let i = g.add(Node {
            id: format!("join{j}"),
            kind: "join",
            lines: vec![line],
            key: (!keys.is_empty()).then(|| keys.join(", ")),
            state: Some(state),
            task: Some(task),
            parallelism: 1,
        });
        joins[j] = Some(i);
        i
    };
    let requested = program.settings.get("parallelism.default").and_then(|p| p.trim().parse::<u32>().ok()).unwrap_or(1);
    let per_partition = crate::parallel::per_partition(program);
    for (ti, task) in pipeline.tasks.iter().enumerate() {
        // A task keeping its state per Kafka partition: an instance per partition assigned.
        let plan = if per_partition { crate::parallel::partition_plan(program, pipeline, task).ok() } else { None };
        let partitioned = matches!(plan, Some(Partitioning::PerPartition | Partitioning::Repartitioned));
        if plan == Some(Partitioning::PerPartition) {
            g.notes.push((
                ti,
                "state per Kafka partition: an instance of the operators per partition this process is assigned, \
                 their state in 'scale-out.state.dir'"
                    .into(),
            ));
        }
        if let Some(stages) = partitioned.then(|| crate::parallel::partition_stages(program, task)).flatten() {
            let group = match task.input {
                Input::Table(t) => table(t).options.get("properties.group.id").map_or("", String::as_str),
                _ => "",
            };
            let topic = crate::parallel::stage_topic(group, &crate::codegen::task_name(program, pipeline, ti));
            let (b, s) = stages.window;
            g.notes.push((
                ti,
                format!(
                    "in two stages: per partition up to the window t{ti}.b{b}.s{s}, whose rows go through the topic \
                     '{topic}' (one partition) to the steps after it, run by one instance in the process its group \
                     gives that partition to"
                ),
            ));
        }
        if plan == Some(Partitioning::Repartitioned) {
            let key = crate::parallel::key_text(program, pipeline, task);
            let (group, why) = match task.input {
                Input::Table(t) => {
                    (table(t).options.get("properties.group.id"), "the table's topic is not keyed by it")
                }
                Input::Tables(t, _) => (table(t).options.get("properties.group.id"), "rows that join meet there"),
                Input::Values(_) | Input::Stage(_) => (None, ""),
            };
            let topic = crate::parallel::shuffle_topic(
                group.map_or("", String::as_str),
                &crate::codegen::task_name(program, pipeline, ti),
            );
            g.notes.push((
                ti,
                format!(
                    "repartitioned by ({key}) through the topic '{topic}' ({why}): an instance of the operators per \
                     partition of that topic this process is assigned, their state in 'scale-out.state.dir'"
                ),
            ));
        }
        // A task run N-wide: its source read by one router, the rest by N workers; or in
        // two stages, the steps after the first stage's window on one thread.
        let mut staged: Option<crate::parallel::Stages> = None;
        let mut sides = Vec::new();
        let width = match crate::parallel::wide_plan(program, pipeline, task) {
            _ if partitioned => 1,
            Ok(crate::parallel::Wide::Whole(plan)) if requested > 1 && matches!(task.input, Input::Tables(..)) => {
                let routes: Vec<String> = (plan.sides.iter())
                    .map(|(b, key)| {
                        let id = match (&task.input, task.branches[*b].from) {
                            (Input::Tables(_, second), Origin::Second) => *second,
                            (Input::Tables(first, _), _) => *first,
                            _ => unreachable!("matched above"),
                        };
                        let key: Vec<String> = key.iter().map(ToString::to_string).collect();
                        format!("{} by ({})", table(id).name, key.join(", "))
                    })
                    .collect();
                g.notes.push((
                    ti,
                    format!(
                        "{requested} workers; each table routed by the hash of its join key, by a router of its own: {}",
                        routes.join(", ")
                    ),
                ));
                requested
            }
            Ok(crate::parallel::Wide::Whole(plan)) if requested > 1 && !plan.sides.is_empty() => {
                sides.clone_from(&plan.sides);
                let sides: Vec<String> = (plan.sides.iter())
                    .map(|(b, key)| {
                        let key: Vec<String> = key.iter().map(ToString::to_string).collect();
                        format!("t{ti}.b{b} by ({})", key.join(", "))
                    })
                    .collect();
                g.notes.push((
                    ti,
                    format!(
                        "{requested} workers; each side of the join routed by the hash of its join key: {} (a row \
                         feeding both sides goes to both workers)",
                        sides.join(", ")
                    ),
                ));
                requested
            }
            Ok(crate::parallel::Wide::Whole(plan)) if requested > 1 => {
                let key: Vec<String> = plan.key.iter().map(ToString::to_string).collect();
                g.notes.push((ti, format!("{requested} workers; rows routed by the hash of ({})", key.join(", "))));
                requested
            }
            Ok(crate::parallel::Wide::Staged(stages, why)) if requested > 1 => {
                let key: Vec<String> = stages.exchange.key.iter().map(ToString::to_string).collect();
                let (b, s) = stages.window;
                g.notes.push((
                    ti,
                    format!(
                        "{requested} workers up to window t{ti}.b{b}.s{s} (rows routed by the hash of ({})), then \
                         one thread from the workers' windows: {why}",
                        key.join(", ")
                    ),
                ));
                staged = Some(stages);
                requested
            }
            Err(why) if requested > 1 => {
                g.notes.push((ti, format!("parallelism 1: {why}")));
                1
            }
            _ => 1,
        };
        // The steps its router runs, before the key.
        let routed = match width {
            1 => Vec::new(),
            _ => crate::parallel::router_prefix(task, &pipeline.late_sinks, &sides),
        };
        if !routed.is_empty() {
            let steps: Vec<String> = routed.iter().map(|(b, _)| format!("t{ti}.b{b}.s0")).collect();
            let what = if sides.is_empty() { "" } else { ", each join side's columns to its worker" };
            g.notes.push((ti, format!("the router filters and projects before routing ({}{what})", steps.join(", "))));
        }
        // The parallelism of branch `b`'s step `s` (a chain's first step).
        let routed_at = |b: usize, s: usize| routed.iter().any(|&(rb, steps)| rb == b && s < steps);
        let width_at = |b: usize, s: usize| match &staged {
            _ if routed_at(b, s) => 1,
            Some(st) if st.later[b] && (b != st.window.0 || s > st.window.1) => 1,
            _ => width,
        };
        let source = |id: String, line: String, state: Option<String>| Node {
            id,
            kind: "source",
            lines: vec![line],
            key: None,
            state,
            task: Some(ti),
            parallelism: 1,
        };
        let read = |t: TableId| {
            let table = table(t);
            let line = format!("read {} [{}]", table.name, table.connector);
            let state = table.is_changelog_source().then(|| format!("latest row per key ({backend})"));
            (line, state)
        };
        let (input, second) = match &task.input {
            Input::Table(t) => {
                let (line, state) = read(*t);
                (g.add(source(format!("t{ti}.src"), line, state)), None)
            }
            Input::Tables(a, b) => {
                let (la, sa) = read(*a);
                let (lb, sb) = read(*b);
                let a = g.add(source(format!("t{ti}.src0"), la, sa));
                let b = g.add(source(format!("t{ti}.src1"), lb, sb));
                (a, Some(b))
            }
            Input::Values(rows) => {
                (g.add(source(format!("t{ti}.values"), format!("{} constant row(s)", rows.len()), None)), None)
            }
            Input::Stage(_) => (g.add(source(format!("t{ti}.stage"), "the first stage's windows".into(), None)), None),
        };
        // Where each (branch, step) operator is, for branches continuing from it.
        let mut operators: Vec<((usize, usize), usize)> = Vec::new();
        for (b, branch) in task.branches.iter().enumerate() {
            let mut at = match branch.from {
                Origin::Input => input,
                Origin::Second => second.unwrap_or(input),
                Origin::Join(j) => join_node(&mut g, j, ti),
                Origin::Window { branch, step } => {
                    operators.iter().find(|(k, _)| *k == (branch, step)).map_or(input, |(_, n)| *n)
                }
            };
            let mut chain: Vec<String> = Vec::new();
            let mut chain_start = 0;
            for (s, step) in branch.steps.iter().enumerate() {
                if matches!(step, Step::Filter(_) | Step::Project(_)) {
                    if chain.is_empty() {
                        chain_start = s;
                    }
                    chain.push(step_line(step));
                    continue;
                }
                if !chain.is_empty() {
                    let n = g.add(Node {
                        id: format!("t{ti}.b{b}.s{chain_start}"),
                        kind: "chain",
                        lines: std::mem::take(&mut chain),
                        key: None,
                        state: None,
                        task: Some(ti),
                        parallelism: width_at(b, chain_start),
                    });
                    g.edge(at, n);
                    at = n;
                }
                let (kind, key, state) = operator(program, step, backend, &forever);
                let n = g.add(Node {
                    id: format!("t{ti}.b{b}.s{s}"),
                    kind,
                    lines: vec![step_line(step)],
                    key,
                    state: Some(state),
                    task: Some(ti),
                    parallelism: width_at(b, s),
                });
                g.edge(at, n);
                operators.push(((b, s), n));
                at = n;
            }
            if !chain.is_empty() {
                let n = g.add(Node {
                    id: format!("t{ti}.b{b}.s{chain_start}"),
                    kind: "chain",
                    lines: chain,
                    key: None,
                    state: None,
                    task: Some(ti),
                    parallelism: width_at(b, chain_start),
                });
                g.edge(at, n);
                at = n;
            }
            let to = match &branch.target {
                Target::Sink { table: t, .. } => {
                    let t = table(*t);
                    g.add(Node {
                        id: format!("sink.{}", t.name),
                        kind: "sink",
                        lines: vec![format!("write {} [{}]", t.name, t.connector)],
                        key: (!t.primary_key.is_empty()).then(|| {
                            t.primary_key.iter().map(|&i| t.columns[i].name.clone()).collect::<Vec<_>>().join(", ")
                        }),
                        state: None,
                        task: None,
                        parallelism: 1,
                    })
                }
                Target::Join { join, .. } => {
                    let node = join_node(&mut g, *join, ti);
                    // A join of the task's branches runs in its workers, unless in a second stage.
                    if staged.is_none() {
                        g.nodes[node].parallelism = width;
                    }
                    node
                }
                Target::Stage => continue,
            };
            g.edge(at, to);
        }
    }
    g
}

/// A stateful step's kind, key and state.
fn operator(program: &Program, step: &Step, backend: &str, forever: &str) -> (&'static str, Option<String>, String) {
    let list = |es: &[crate::hir::Expr]| es.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
    match step {
        Step::WindowAggregate(w) => {
            let keys: Vec<String> = w
                .group
                .iter()
                .map(|g| match g {
                    Ok(e) => e.to_string(),
                    Err(bound) => format!("window_{bound:?}").to_lowercase(),
                })
                .collect();
            let how = if w.proctime { "the clock" } else { "the watermark" };
            (
                "window",
                Some(keys.join(", ")),
                format!("accumulators per key and window ({backend}), freed when {how} passes the window"),
            )
        }
        Step::Aggregate(g) => {
            ("group", Some(list(&g.group)), format!("accumulators and a row count per key ({backend}), kept {forever}"))
        }
        Step::TopN(t) if t.windowed => {
            ("top-n", Some(list(&t.partition)), "the window's rows per partition, until it fires".into())
        }
        Step::TopN(t) => {
            ("top-n", Some(list(&t.partition)), format!("every row per partition ({backend}), kept {forever}"))
        }
        Step::Over(o) => ("over", Some(list(&o.partition)), format!("rows per partition within the frame ({backend})")),
        Step::Lookup(l) => {
            let t = &program.tables[l.table.0];
            let column = |e: &crate::hir::Expr| match e.kind {
                crate::hir::ExprKind::Column(i) if i < t.columns.len() => t.columns[i].name.clone(),
                _ => e.to_string(),
            };
            let keys: Vec<String> = l.keys.iter().map(|(a, b)| format!("{a} = {}.{}", t.name, column(b))).collect();
            let state = match t.connector.as_str() {
                "redis" => match t.options.get("lookup.cache.max-rows") {
                    Some(n) => format!("Redis {}, batched lookups, cache of {n} rows", t.name),
                    None => format!("Redis {}, batched lookups, no cache", t.name),
                },
                _ => format!("{} read whole into memory at start", t.name),
            };
            ("lookup", Some(keys.join(", ")), state)
        }
        Step::Filter(_) | Step::Project(_) => ("chain", None, String::new()),
    }
}

/// A join's line and state.
fn join_text(j: usize, join: &WindowJoin, backend: &str, forever: &str) -> (String, String) {
    let condition = join.condition.as_ref().map(|c| format!(", where {c}")).unwrap_or_default();
    if join.left_window.is_some() {
        (
            format!("window join {j}: {:?} on window{condition}", join.kind),
            format!("both sides' rows per window ({backend}), freed when the watermark passes the window"),
        )
    } else if join.versioned.is_some() {
        (
            format!("temporal join {j}: {:?}{condition}, each left row with the version valid at its time", join.kind),
            format!("versions per key and left rows until the watermark passes them ({backend})"),
        )
    } else if let Some(IntervalBounds { lower, upper, left_time, right_time }) = join.interval {
        (
            format!(
                "interval join {j}: {:?}{condition}; {lower} ms <= left ${left_time} - right ${right_time} <= {upper} ms",
                join.kind
            ),
            format!("both sides' rows within the bounds ({backend}), freed by the watermark"),
        )
    } else {
        (
            format!("regular join {j}: {:?}{condition}", join.kind),
            format!("both sides' rows per key ({backend}), kept {forever}"),
        )
    }
}

/// One step as a line.
fn step_line(step: &Step) -> String {
    match step {
        Step::Filter(e) => format!("filter {e}"),
        Step::Project(es) => format!("project {}", es.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")),
        Step::WindowAggregate(w) => {
            let windows = match &w.windows {
                Windows::Assigned(kind) => window_kind(kind),
                Windows::Given { .. } => "windows of the input".to_string(),
            };
            format!("window {windows} on ${}: {}", w.time_column, calls(&w.aggregates))
        }
        Step::Aggregate(g) => format!("group by: {} (updating)", calls(&g.aggregates)),
        Step::TopN(t) => {
            let order: Vec<String> =
                t.order.iter().map(|k| format!("{}{}", k.expr, if k.desc { " DESC" } else { "" })).collect();
            let output = if t.windowed { "when the window fires, appended" } else { "updating" };
            format!("top {} by {} ({output})", t.limit, order.join(", "))
        }
        Step::Over(o) => {
            let frame = match (o.rows, o.preceding) {
                (true, Some(n)) => format!("ROWS {n} PRECEDING"),
                (false, Some(ms)) => format!("RANGE {ms} ms PRECEDING"),
                (true, None) => "ROWS UNBOUNDED PRECEDING".into(),
                (false, None) => "RANGE UNBOUNDED PRECEDING".into(),
            };
            let by = if o.proctime { "the clock" } else { "event time" };
            format!("over {frame} by ${} ({by}): {}", o.time_column, calls(&o.aggregates))
        }
        Step::Lookup(l) => {
            let condition = l.condition.as_ref().map(|c| format!(", where {c}")).unwrap_or_default();
            format!("lookup join ({:?}){condition}", l.kind)
        }
    }
}

fn window_kind(kind: &hir::WindowKind) -> String {
    let s = |ms: &i64| if ms % 1000 == 0 { format!("{} s", ms / 1000) } else { format!("{ms} ms") };
    match kind {
        hir::WindowKind::Tumble { size_ms, .. } => format!("TUMBLE {}", s(size_ms)),
        hir::WindowKind::Hop { slide_ms, size_ms, .. } => format!("HOP {} every {}", s(size_ms), s(slide_ms)),
        hir::WindowKind::Cumulate { step_ms, size_ms, .. } => format!("CUMULATE {} by {}", s(size_ms), s(step_ms)),
        hir::WindowKind::Session { gap_ms, .. } => format!("SESSION gap {}", s(gap_ms)),
    }
}

/// Aggregate calls: `COUNT(DISTINCT $1), SUM($2)`.
fn calls(aggregates: &[hir::AggregateCall]) -> String {
    let shown: Vec<String> = aggregates
        .iter()
        .map(|a| {
            let args: Vec<String> = a.args.iter().map(ToString::to_string).collect();
            format!("{}({}{})", a.function, if a.distinct { "DISTINCT " } else { "" }, args.join(", "))
        })
        .collect();
    shown.join(", ")
}

impl Graph {
    /// The nodes of each task in order (`Some(task)`), then those of no task (sinks).
    fn by_task(&self) -> Vec<(Option<usize>, Vec<usize>)> {
        let tasks = self.nodes.iter().filter_map(|n| n.task).max().map_or(0, |m| m + 1);
        (0..tasks)
            .map(Some)
            .chain(std::iter::once(None))
            .map(|t| (t, (0..self.nodes.len()).filter(|&i| self.nodes[i].task == t).collect()))
            .collect()
    }
}

fn text(program: &Program, g: &Graph) -> String {
    let backend = program.settings.get("state.backend").map_or("memory", String::as_str);
    let mut out = format!("state backend: {backend}\n");
    let describe = |out: &mut String, i: usize, n: &Node| {
        out.push_str(&format!("  [{}] {} (parallelism {})\n", n.id, n.kind, n.parallelism));
        for line in &n.lines {
            out.push_str(&format!("      {line}\n"));
        }
        if let Some(key) = &n.key {
            out.push_str(&format!("      key: {key}\n"));
        }
        if let Some(state) = &n.state {
            out.push_str(&format!("      state: {state}\n"));
        }
        let to: Vec<&str> = g.edges.iter().filter(|(f, _)| *f == i).map(|(_, t)| g.nodes[*t].id.as_str()).collect();
        if !to.is_empty() {
            out.push_str(&format!("      -> {}\n", to.join(", ")));
        }
    };
    for (task, nodes) in g.by_task() {
        out.push_str(&task.map_or("sinks\n".to_string(), |t| format!("task {t}\n")));
        for (_, note) in g.notes.iter().filter(|(t, _)| Some(*t) == task) {
            out.push_str(&format!("  ({note})\n"));
        }
        for i in nodes {
            describe(&mut out, i, &g.nodes[i]);
        }
    }
    out
}

/// A node's label: kind and id, its lines, key and state.
fn label(n: &Node) -> Vec<String> {
    let mut lines = vec![format!("{} [{}] p={}", n.kind, n.id, n.parallelism)];
    lines.extend(n.lines.iter().cloned());
    if let Some(key) = &n.key {
        lines.push(format!("key: {key}"));
    }
    if let Some(state) = &n.state {
        lines.push(format!("state: {state}"));
    }
    lines
}

fn mermaid(g: &Graph) -> String {
    let escape = |s: &str| s.replace('"', "#quot;").replace('<', "#lt;").replace('>', "#gt;");
    let mut out = String::from("flowchart LR\n");
    let node = |i: usize, n: &Node| {
        let text = label(n).iter().map(|l| escape(l)).collect::<Vec<_>>().join("<br/>");
        match n.kind {
            "source" => format!("n{i}[(\"{text}\")]"),
            "sink" => format!("n{i}[/\"{text}\"/]"),
            _ => format!("n{i}[\"{text}\"]"),
        }
    };
    for (task, nodes) in g.by_task() {
        let indent = match task {
            Some(t) => {
                out.push_str(&format!("  subgraph task{t}[\"task {t}\"]\n"));
                "    "
            }
            None => "  ",
        };
        for i in nodes {
            out.push_str(&format!("{indent}{}\n", node(i, &g.nodes[i])));
        }
        if task.is_some() {
            out.push_str("  end\n");
        }
    }
    for (from, to) in &g.edges {
        out.push_str(&format!("  n{from} --> n{to}\n"));
    }
    out
}

fn dot(g: &Graph) -> String {
    let escape = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let mut out = String::from("digraph pipeline {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n");
    let node = |i: usize, n: &Node| {
        let text = label(n).iter().map(|l| escape(l)).collect::<Vec<_>>().join("\\l") + "\\l";
        let shape = match n.kind {
            "source" => ", shape=cylinder",
            "sink" => ", shape=folder",
            "chain" => ", style=rounded",
            _ => "",
        };
        format!("n{i} [label=\"{text}\"{shape}];")
    };
    for (task, nodes) in g.by_task() {
        let indent = match task {
            Some(t) => {
                out.push_str(&format!("  subgraph cluster_task{t} {{\n    label=\"task {t}\";\n"));
                "    "
            }
            None => "  ",
        };
        for i in nodes {
            out.push_str(&format!("{indent}{}\n", node(i, &g.nodes[i])));
        }
        if task.is_some() {
            out.push_str("  }\n");
        }
    }
    for (from, to) in &g.edges {
        out.push_str(&format!("  n{from} -> n{to};\n"));
    }
    out.push_str("}\n");
    out
}
