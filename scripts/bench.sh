#!/usr/bin/env bash
# Benchmarks of generated pipelines (numbers for docs/benchmarks.md):
#   - `dflc build` time of Nexmark q0, q1, q2 (release, runtime already built);
#   - q0 from the in-process Nexmark generator into a blackhole;
#   - q1 and q2 over bids read from a JSON lines file.
# Usage: scripts/bench.sh [EVENTS_FOR_Q0] [EVENTS_FOR_FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dflc/target}"
q0_events="${1:-50000000}"
file_events="${2:-2000000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet --bin dflc
dflc="$CARGO_TARGET_DIR/release/dflc"

# Build everything once so that the runtime is compiled, then time the builds.
for q in q0 q1 q2; do "$dflc" build "examples/nexmark/$q.sql" -o "$work/warm-$q" >/dev/null 2>&1; done
for q in q0 q1 q2; do
  start=$(date +%s.%N)
  "$dflc" build "examples/nexmark/$q.sql" -o "$work/$q" >/dev/null 2>&1
  end=$(date +%s.%N)
  printf 'dflc build %s (release): %.2f s\n' "$q" "$(echo "$end - $start" | bc)"
done
for q in gen_bids q1_file q2_file; do "$dflc" build "examples/nexmark/bench/$q.sql" -o "$work/$q" >/dev/null 2>&1; done

echo "q0 over $q0_events generated events:"
"$work/q0/q0" --set datagen.events.num="$q0_events" 2>&1 | tail -1
"$work/gen_bids/gen_bids" --set datagen.events.num="$file_events" --set bids.path="$work/bids.json" >/dev/null 2>&1
echo "bids file: $(wc -l < "$work/bids.json") lines, $(du -h "$work/bids.json" | cut -f1)"
for q in q1_file q2_file; do
  "$work/$q/$q" --set bid.path="$work/bids.json" 2>&1 | tail -1
done

# Windows: Nexmark q5 (HOP count, max per window, window join) from the generator, at the
# published event rate and at 10,000 events/s of event time, with peak RSS.
"$dflc" build examples/nexmark/q5.sql -o "$work/q5" >/dev/null 2>&1
for rate in 10000000 10000; do
  echo "q5 over $q0_events generated events at $rate events/s of event time:"
  /usr/bin/time -f "peak RSS %M KB" "$work/q5/q5" --set datagen.events.num="$q0_events" \
    --set datagen.first-event.rate="$rate" --set datagen.next-event.rate="$rate" 2>&1 | tail -2
done
