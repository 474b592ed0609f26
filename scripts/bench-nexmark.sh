#!/usr/bin/env bash
# Every Nexmark query dflc compiles, from the in-process generator into its blackhole sink:
# events/s on one core (the pipeline's own summary) and peak RSS, release builds. The
# numbers of docs/benchmarks.md "Nexmark, every query".
# Usage: scripts/bench-nexmark.sh [EVENTS] [RATE] [QUERY…]
#   EVENTS: events per run (default 10,000,000)
#   RATE:   events per second of event time (default 10,000,000, the published rate)
#   QUERY:  q0 … q22 (default all)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dflc/target}"
events="${1:-10000000}"
rate="${2:-10000000}"
shift $(( $# > 2 ? 2 : $# ))
queries=("$@")
if [ ${#queries[@]} -eq 0 ]; then
  for i in $(seq 0 22); do queries+=("q$i"); done
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet --bin dflc
dflc="$CARGO_TARGET_DIR/release/dflc"
# q13's side input, as the query names it.
side="$PWD/examples/nexmark/data/side_input.txt"

printf '| query | events/s | peak RSS | rows written |\n|---|---|---|---|\n'
for q in "${queries[@]}"; do
  if ! "$dflc" build "examples/nexmark/$q.sql" -o "$work/$q" >"$work/$q.build" 2>&1; then
    printf '| %s | does not compile: %s | | |\n' "$q" "$(grep -m1 -oE 'DFL[0-9]{4}' "$work/$q.build" || echo error)"
    continue
  fi
  out="$(cd "$work" && /usr/bin/time -f 'peak RSS %M KB' "$work/$q/$q" \
    --set datagen.events.num="$events" \
    --set datagen.first-event.rate="$rate" --set datagen.next-event.rate="$rate" \
    --set side_input.path="$side" 2>&1 | tail -2)"
  summary="$(echo "$out" | grep 'finished:' || echo "$out" | head -1)"
  per_s="$(echo "$summary" | grep -oE '\(([0-9]+) rows/s\)' | grep -oE '[0-9]+' || echo '?')"
  written="$(echo "$summary" | grep -oE '[0-9]+ written' | grep -oE '[0-9]+' || echo '?')"
  rss_kb="$(echo "$out" | grep -oE 'peak RSS [0-9]+' | grep -oE '[0-9]+' || echo 0)"
  printf '| %s | %s | %s MB | %s |\n' "$q" "$per_s" "$((rss_kb / 1024))" "$written"
done
