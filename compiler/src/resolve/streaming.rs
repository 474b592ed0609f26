//! Streaming rules checked over each resolved INSERT: ranking must be filtered on its
//! rank (Top-N / deduplication), and warnings for state that grows without bound (the
//! fix is a window or a state TTL). Settings count from where they stand in the file,
//! as in Flink.

use super::Resolver;
use crate::diagnostic::{Code, Diagnostic};
use crate::hir::{Expr, ExprKind, InsertPlan, JoinType, Rel, RelKind, Windowing};

/// Checks one INSERT's query with the settings in force where it stands.
pub fn check_insert(insert: &InsertPlan, r: &mut Resolver) {
    let ttl = r.setting("table.exec.state.ttl").and_then(crate::catalog::connectors::duration_ms).unwrap_or(0);
    visit(&insert.query, r, ttl > 0, false);
}

fn unbounded(r: &mut Resolver, rel: &Rel, message: &str, label: &str, help: &str) {
    r.report(Diagnostic::warning(Code::UnboundedState, message).at(rel.span, label).with_help(help));
}

const TTL_HELP: &str = "or bound the state with SET 'table.exec.state.ttl' = '1 h' (before the INSERT)";

/// `rank_filtered`: the parent filters on the rank this Over computes (Top-N).
fn visit(rel: &Rel, r: &mut Resolver, has_ttl: bool, rank_filtered: bool) {
    match &rel.kind {
        RelKind::Aggregate(a) => {
            if a.windowing == Windowing::None && !has_ttl {
                let distinct_args = a.aggregates.iter().any(|c| c.distinct);
                if !a.group_by.is_empty() {
                    let what =
                        if a.aggregates.is_empty() { "this grouping (GROUP BY or DISTINCT)" } else { "this GROUP BY" };
                    unbounded(
                        r,
                        rel,
                        &format!("{what} keeps state for every group forever"),
                        "state grows with every new key",
                        &format!(
                            "aggregate over a window (FROM TABLE(TUMBLE(…)) … GROUP BY window_start, window_end, …), {TTL_HELP}"
                        ),
                    );
                } else if distinct_args {
                    unbounded(
                        r,
                        rel,
                        "a DISTINCT aggregate without GROUP BY keeps every distinct value forever",
                        "state grows with every new value",
                        &format!("aggregate over a window, {TTL_HELP}"),
                    );
                }
            }
            visit(&a.input, r, has_ttl, false);
        }
        RelKind::Join(j) => {
            if j.join_type == JoinType::Regular && !has_ttl {
                unbounded(
                    r,
                    rel,
                    "this join keeps every row of both inputs forever",
                    "regular join",
                    &format!(
                        "bound it in time (an interval join: a.ts BETWEEN b.ts - INTERVAL '1' HOUR AND b.ts), join windows, {TTL_HELP}"
                    ),
                );
            }
            visit(&j.left, r, has_ttl, false);
            visit(&j.right, r, has_ttl, false);
        }
        RelKind::Over { input, calls } => {
            let ranks = calls.iter().any(|c| is_rank(&c.function));
            if ranks && !rank_filtered {
                r.report(
                    Diagnostic::error(Code::UnsupportedStreaming, "a ranking on a stream must be filtered on its rank")
                        .at(rel.span, "ROW_NUMBER / RANK without a filter")
                        .with_help("select it in a subquery and filter outside: SELECT * FROM (SELECT *, ROW_NUMBER() OVER (…) AS rn FROM t) WHERE rn <= 3"),
                );
            }
            let windowed = input.schema.iter().any(|f| f.window.is_some());
            if ranks && !windowed && !has_ttl && calls.iter().any(|c| !c.partition_by.is_empty()) {
                unbounded(
                    r,
                    rel,
                    "this ranking keeps state for every partition forever",
                    "Top-N / deduplication state",
                    &format!("rank within windows (PARTITION BY window_start, window_end, …), {TTL_HELP}"),
                );
            }
            visit(input, r, has_ttl, false);
        }
        RelKind::Filter { input, predicate } => {
            visit(input, r, has_ttl, filters_rank(predicate, input));
        }
        RelKind::Project { input, .. } => visit(input, r, has_ttl, rank_filtered && passes_rank(rel, input)),
        RelKind::Scan { .. } | RelKind::Values { .. } => {}
        RelKind::Window { input, .. } | RelKind::Sort { input, .. } => visit(input, r, has_ttl, false),
        RelKind::Union { inputs } => inputs.iter().for_each(|i| visit(i, r, has_ttl, false)),
    }
}

fn is_rank(function: &str) -> bool {
    matches!(function, "ROW_NUMBER" | "RANK" | "DENSE_RANK")
}

/// The rank columns an input provides: the Over calls of a ranking, seen through one
/// projection.
fn rank_columns(rel: &Rel) -> Vec<usize> {
    match &rel.kind {
        RelKind::Over { input, calls } => calls
            .iter()
            .enumerate()
            .filter(|(_, c)| is_rank(&c.function))
            .map(|(k, _)| input.schema.len() + k)
            .collect(),
        RelKind::Project { input, exprs } => {
            let inner = rank_columns(input);
            exprs
                .iter()
                .enumerate()
                .filter(|(_, e)| matches!(e.kind, ExprKind::Column(c) if inner.contains(&c)))
                .map(|(i, _)| i)
                .collect()
        }
        _ => Vec::new(),
    }
}

/// Whether a projection keeps its input's rank column (so a filter above reaches it).
fn passes_rank(project: &Rel, input: &Rel) -> bool {
    let _ = project;
    !rank_columns(input).is_empty()
}

/// Whether `predicate` bounds a rank column of `input`: `rn <= N`, `rn < N`, `rn = 1`,
/// possibly among other conjuncts.
fn filters_rank(predicate: &Expr, input: &Rel) -> bool {
    let ranks = rank_columns(input);
    if ranks.is_empty() {
        return false;
    }
    let mut stack = vec![predicate];
    while let Some(e) = stack.pop() {
        let ExprKind::Call { function, args } = &e.kind else { continue };
        match function.as_str() {
            "AND" => stack.extend(args),
            "<=" | "<" | "=" | ">=" | ">" | "BETWEEN" => {
                let on_rank = |x: &Expr| matches!(x.kind, ExprKind::Column(c) if ranks.contains(&c));
                let constant = |x: &Expr| matches!(x.kind, ExprKind::Literal(_));
                let bounded = match function.as_str() {
                    "<=" | "<" | "=" => on_rank(&args[0]) && constant(&args[1]),
                    ">=" | ">" => constant(&args[0]) && on_rank(&args[1]),
                    _ => on_rank(&args[0]) && args[1..].iter().all(constant),
                };
                if bounded {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use crate::catalog::connectors::duration_ms;

    #[test]
    fn durations() {
        assert_eq!(duration_ms("1 h"), Some(3_600_000));
        assert_eq!(duration_ms("05 min"), Some(300_000));
        assert_eq!(duration_ms("0"), Some(0));
        assert_eq!(duration_ms("10 parsecs"), None);
    }
}
