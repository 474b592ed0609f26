#!/usr/bin/env bash
# Scale-out benchmark (the "Several processes" numbers of docs/benchmarks.md): Nexmark q5's
# keyed stage over a Kafka topic keyed by auction (examples/kafka/bench/
# q5_kafka_partitioned.sql, state per partition), read by 1 process and then by 2 processes
# sharing the consumer group, through the loopback broker of scripts/services.sh.
#
#   1. The Nexmark generator's bids of EVENTS events go into a topic of PARTITIONS
#      partitions, keyed by auction (examples/kafka/bench/q5_bids_to_kafka.sql).
#   2. For N in 1 2, RUNS times: N processes start together in a new group, each with its
#      own checkpoint folder and one shared state folder; each reads its partitions to
#      their end ('scan.bounded.mode' = 'latest-offset') and exits. Throughput = bids read
#      (the processes' summaries) / wall time from the start to the last exit, start-up and
#      the group's rebalances included.
#
# With BENCH_SCALE_VARIANT=repartitioned the query does not declare the topic's key: the
# pipeline repartitions the bids by auction through a topic of its own (a writer and the
# instances per partition of that topic, in every process). With BENCH_SCALE_VARIANT=join,
# Nexmark q8 instead (examples/kafka/bench/q8_kafka_partitioned.sql): the persons and
# auctions of EVENTS events go into two topics not keyed by the seller
# (q8_to_kafka.sql), and the window join repartitions both by it through one shuffle topic;
# its throughput counts persons and auctions. With BENCH_SCALE_VARIANT=full, the whole of
# q5 (examples/kafka/bench/q5_full_kafka_partitioned.sql) over the keyed topic: in two
# stages, the counts per partition, the greatest count per window and the join per
# partition of its stage topic; its throughput counts the bids produced.
#
# Usage: scripts/bench-scale-out.sh [EVENTS]          (default 4000000)
# Environment: BENCH_SCALE_PARTITIONS (default 4), BENCH_SCALE_RUNS (default 3),
#              BENCH_SCALE_VARIANT (keyed, the default, repartitioned, join or full).
# Services: started if the broker does not answer (and stopped again at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dflc/target}"
events="${1:-4000000}"
partitions="${BENCH_SCALE_PARTITIONS:-4}"
runs="${BENCH_SCALE_RUNS:-3}"
variant="${BENCH_SCALE_VARIANT:-keyed}"
say() { printf 'bench-scale-out: %s\n' "$*" >&2; }
for n in "$events" "$partitions" "$runs"; do
  [[ "$n" =~ ^[0-9]+$ ]] || { say "not a number: '$n'"; exit 2; }
done

work="$(mktemp -d)"
started_services=0
topics=()
cleanup() {
  jobs -p | xargs -r kill -TERM 2>/dev/null || true
  wait 2>/dev/null || true
  for t in "${topics[@]}"; do
    if [[ -x "${load:-}" ]]; then "$load" delete --brokers "$brokers" --topic "$t" >/dev/null 2>&1 || true; fi
  done
  rm -rf "$work"
  if [[ "$started_services" == 1 ]]; then bash "$ROOT/scripts/services.sh" down >&2 || true; fi
}
trap cleanup EXIT

source scripts/bench-broker.sh
bench_use_broker

say "building dflc, the load tool and the pipelines (release)"
cargo build --release --quiet --bin dflc
cargo build --release --quiet -p dfl --example kafka_load
dflc="$CARGO_TARGET_DIR/release/dflc"
load="$CARGO_TARGET_DIR/release/examples/kafka_load"
# The producing query, its tables (one topic each) and the measured query, its tables.
produced=(bids) read=(bid) producer=q5_bids_to_kafka query=q5_kafka_partitioned what="bids"
case "$variant" in
  keyed) cp examples/kafka/bench/q5_kafka_partitioned.sql "$work/$query.sql" ;;
  repartitioned)
    perl -0pe "s/,\s*'key\.format' = 'json',\s*'key\.fields' = 'auction'//" \
      examples/kafka/bench/q5_kafka_partitioned.sql > "$work/$query.sql"
    grep -q "key.fields" "$work/$query.sql" && { say "could not drop the key from the query"; exit 1; } ;;
  full)
    query=q5_full_kafka_partitioned
    cp examples/kafka/bench/q5_full_kafka_partitioned.sql "$work/$query.sql" ;;
  join)
    produced=(persons auctions) read=(person auction) producer=q8_to_kafka query=q8_kafka_partitioned
    what="persons and auctions"
    cp examples/kafka/bench/q8_kafka_partitioned.sql "$work/$query.sql" ;;
  *) say "BENCH_SCALE_VARIANT: keyed, repartitioned, join or full, not '$variant'"; exit 2 ;;
esac
"$dflc" build "examples/kafka/bench/$producer.sql" -o "$work/produce" >/dev/null
"$dflc" build "$work/$query.sql" -o "$work/q" >/dev/null
produce="$work/produce/$producer"
q="$work/q/$query"

produce_sets=(--set "datagen.events.num=$events")
for i in "${!produced[@]}"; do
  topics+=("bench-scale-out-$$-$(date +%s)-$i")
  "$load" create --brokers "$brokers" --topic "${topics[$i]}" --partitions "$partitions" 2>/dev/null
  produce_sets+=(--set "${produced[$i]}.topic=${topics[$i]}" --set "${produced[$i]}.properties.bootstrap.servers=$brokers")
done
say "producing the $what of $events events into ${topics[*]} ($partitions partitions each)"
"$produce" "${produce_sets[@]}" 2>"$work/produce.txt" || { cat "$work/produce.txt" >&2; exit 1; }

rows_read() { grep -o '[0-9]* rows read' "$1" | tail -1 | cut -d' ' -f1; }
echo "Scale-out benchmark ($variant), $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $partitions partitions"
echo "input: $(tail -1 "$work/produce.txt")"
for n in 1 2; do
  for r in $(seq 1 "$runs"); do
    group="bench-scale-out-$$-$n-$r"
    shared="$work/shared-$n-$r"
    pids=()
    start="$(date +%s.%N)"
    sets=()
    for i in "${!read[@]}"; do
      sets+=(--set "${read[$i]}.topic=${topics[$i]}" --set "${read[$i]}.properties.bootstrap.servers=$brokers")
      sets+=(--set "${read[$i]}.properties.group.id=$group")
    done
    for p in $(seq 1 "$n"); do
      /usr/bin/time -f '%M' -o "$work/rss-$n-$r-$p.txt" "$q" "${sets[@]}" --set "scale-out.state.dir=$shared" \
        --set "state.checkpoints.dir=$work/checkpoints-$n-$r-$p" --metrics-addr off 2>"$work/run-$n-$r-$p.txt" &
      pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid" || { say "a process failed:"; tail -5 "$work"/run-"$n"-"$r"-*.txt >&2; exit 1; }; done
    end="$(date +%s.%N)"
    total=0
    rss=""
    for p in $(seq 1 "$n"); do
      total=$((total + $(rows_read "$work/run-$n-$r-$p.txt")))
      rss="$rss $(( $(cat "$work/rss-$n-$r-$p.txt") / 1024 )) MB"
    done
    # Repartitioned, every record is read twice: by a writer, and from the shuffle topic.
    # In two stages, the stage topic's records are read too: the bids produced count.
    case "$variant" in
      keyed) ;;
      full) total="$(grep -o 'rows_written=[0-9]*' "$work/produce.txt" | tail -1 | cut -d= -f2)" ;;
      *) total=$((total / 2)) ;;
    esac
    awk -v n="$n" -v r="$r" -v rows="$total" -v s="$start" -v e="$end" -v rss="$rss" \
      'BEGIN { printf "%d process(es), run %d: %d records in %.2f s = %.0f records/s; peak RSS%s\n", n, r, rows, e - s, rows / (e - s), rss }'
  done
done
