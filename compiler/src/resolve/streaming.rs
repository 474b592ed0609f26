//! Streaming rules checked over the whole resolved program: warnings for state that
//! grows without bound (the fix is a window or a state TTL).

use super::Resolver;
use crate::diagnostic::{Code, Diagnostic};
use crate::hir::{JoinType, Program, Rel, RelKind, Windowing};

/// Reports operators whose state grows with every new key, unless a TTL is set.
pub fn check(program: &Program, r: &mut Resolver) {
    if r.setting("table.exec.state.ttl").is_some_and(|ttl| !ttl.trim().starts_with('0')) {
        return;
    }
    for insert in &program.inserts {
        visit(&insert.query, r);
    }
}

fn visit(rel: &Rel, r: &mut Resolver) {
    match &rel.kind {
        RelKind::Aggregate(a) => {
            if a.windowing == Windowing::None {
                let what = if a.aggregates.is_empty() { "DISTINCT" } else { "this GROUP BY" };
                r.report(
                    Diagnostic::warning(Code::UnboundedState, format!("{what} keeps state for every group forever"))
                        .at(rel.span, "state grows with every new key")
                        .with_help("aggregate over a window (FROM TABLE(TUMBLE(…)) … GROUP BY window_start, window_end, …), or bound the state with SET 'table.exec.state.ttl' = '1 h'"),
                );
            }
            visit(&a.input, r);
        }
        RelKind::Join(j) => {
            if j.join_type == JoinType::Regular {
                r.report(
                    Diagnostic::warning(Code::UnboundedState, "this join keeps every row of both inputs forever")
                        .at(rel.span, "regular join")
                        .with_help("bound it in time (an interval join: a.ts BETWEEN b.ts - INTERVAL '1' HOUR AND b.ts), join windows, or SET 'table.exec.state.ttl'"),
                );
            }
            visit(&j.left, r);
            visit(&j.right, r);
        }
        RelKind::Over { input, calls } => {
            let ranks = calls.iter().any(|c| matches!(c.function.as_str(), "ROW_NUMBER" | "RANK" | "DENSE_RANK"));
            let windowed = input.schema.iter().any(|f| f.window.is_some());
            if ranks && !windowed && calls.iter().any(|c| !c.partition_by.is_empty()) {
                r.report(
                    Diagnostic::warning(Code::UnboundedState, "this ranking keeps state for every partition forever")
                        .at(rel.span, "Top-N / deduplication state")
                        .with_help("rank within windows (PARTITION BY window_start, window_end, …), or SET 'table.exec.state.ttl'"),
                );
            }
            visit(input, r);
        }
        RelKind::Scan { .. } | RelKind::Values { .. } => {}
        RelKind::Filter { input, .. }
        | RelKind::Project { input, .. }
        | RelKind::Window { input, .. }
        | RelKind::Sort { input, .. } => visit(input, r),
        RelKind::Union { inputs } => inputs.iter().for_each(|i| visit(i, r)),
    }
}
