#!/usr/bin/env bash
# Scaling in one process (docs/scaling.md): Nexmark q5's keyed stage (bids per auction in
# sliding windows, examples/nexmark/bench/q5_hop_counts.sql), or another query over the
# in-process generator (full q5: examples/nexmark/q5.sql, run in two stages), at
# parallelism 1 (the ordinary fused task) and run N-wide (a router and N workers) with
# N = 1, 2, 4; release builds, events/s from the pipeline's summary, peak RSS.
# Usage: scripts/bench-parallel.sh [EVENTS] [QUERY]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dflc/target}"
events="${1:-20000000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet --bin dflc
dflc="$CARGO_TARGET_DIR/release/dflc"
query="${2:-examples/nexmark/bench/q5_hop_counts.sql}"
grep -v "^SET 'parallelism.default'" "$query" > "$work/plain.sql"
{ echo "SET 'parallelism.default' = '2';"; cat "$work/plain.sql"; } > "$work/wide.sql"
"$dflc" build "$work/plain.sql" -o "$work/plain" >/dev/null
"$dflc" build "$work/wide.sql" -o "$work/wide" >/dev/null

run() {
  local label="$1"; shift
  out="$(/usr/bin/time -f 'peak RSS %M KB' "$@" --set datagen.events.num="$events" --metrics-addr off 2>&1)"
  per_s="$(echo "$out" | grep -oE '\(([0-9]+) rows/s\)' | grep -oE '[0-9]+' | tail -1)"
  rss_kb="$(echo "$out" | grep -oE 'peak RSS [0-9]+' | grep -oE '[0-9]+')"
  printf '| %s | %s | %s MB |\n' "$label" "$per_s" "$((rss_kb / 1024))"
}

printf '| %s (%s events, %s cores) | events/s | peak RSS |\n|---|---|---|\n' "$(basename "$query")" "$events" "$(nproc)"
run "parallelism 1 (fused task)" "$work/plain/plain"
for n in 1 2 4; do
  run "router + $n worker(s)" "$work/wide/wide" --set parallelism.default="$n"
done
