#!/usr/bin/env bash
# Rescaling a checkpoint (docs/scaling.md): a GROUP BY over KEYS users (accumulators per
# user) from the in-process generator runs at parallelism 4 until its first checkpoint (at
# ROWS rows), then the checkpoint is restored at 4 (as it was taken), 2 and 8 workers, in
# memory and in RocksDB. Reported: the longest a worker took to merge its key groups (its
# log line), the whole restored run to its first checkpoint (start, restore, one more
# checkpoint of the whole state), and the checkpoint's size. Release builds.
# Usage: scripts/bench-rescale.sh [ROWS] [KEYS]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dflc/target}"
eval "$(bash scripts/rocksdb.sh env)"
rows="${1:-4000000}"
keys="${2:-1000000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet --bin dflc
dflc="$CARGO_TARGET_DIR/release/dflc"
query() {
  cat <<SQL
SET 'parallelism.default' = '4';
$1
CREATE TABLE clicks (user_id BIGINT, price INT) WITH (
  'connector' = 'datagen', 'rows-per-second' = '100000000',
  'fields.user_id.min' = '0', 'fields.user_id.max' = '$((keys - 1))',
  'fields.price.min' = '1', 'fields.price.max' = '100');
CREATE TABLE totals (user_id BIGINT, clicks BIGINT, spent BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO totals SELECT user_id, COUNT(*), SUM(price) FROM clicks GROUP BY user_id;
SQL
}
query "" > "$work/memory.sql"
query "SET 'state.backend' = 'rocksdb';" > "$work/rocks.sql"
"$dflc" build "$work/memory.sql" -o "$work/memory" >/dev/null
"$dflc" build "$work/rocks.sql" -o "$work/rocks" >/dev/null

# Runs binary $1 at parallelism $2 on checkpoints $3 until its first checkpoint after $4
# rows; prints its stderr.
until_checkpoint() {
  DFL_CHECKPOINT_EVERY_RECORDS="$4" DFL_CRASH_AFTER_CHECKPOINTS=1 "$1" --metrics-addr off \
    --set parallelism.default="$2" --set state.checkpoints.dir="$3" 2>&1 || true
}

printf '| backend | workers | longest merge | restored run to its first checkpoint | checkpoint |\n|---|---|---|---|---|\n'
for backend in memory rocks; do
  bin="$work/$backend/$backend"
  until_checkpoint "$bin" 4 "$work/$backend-taken" "$rows" > /dev/null
  size="$(du -sh "$work/$backend-taken" | cut -f1)"
  for n in 4 2 8; do
    rm -rf "$work/try" && cp -a "$work/$backend-taken" "$work/try"
    start=$(date +%s%N)
    log="$(until_checkpoint "$bin" "$n" "$work/try" 1)"
    took=$(( ($(date +%s%N) - start) / 1000000 ))
    merge="$(echo "$log" | grep -oE 'key groups from [0-9]+ old worker\(s\) in [0-9]+ ms' | grep -oE '[0-9]+ ms' \
      | sort -n | tail -1 || true)"
    printf '| %s | 4 → %s | %s | %s ms | %s |\n' "$backend" "$n" "${merge:-(same parallelism)}" "$took" "$size"
  done
done
