#!/usr/bin/env bash
# Kafka benchmark (numbers for the "Kafka" section of docs/benchmarks.md): Nexmark q1's
# shape from a topic to a topic (examples/kafka/bench/q1_kafka.sql) through the loopback
# broker of scripts/services.sh, driven and measured by the load tool
# runtime/examples/kafka_load.rs.
#
#   1. throughput: EVENTS bids are produced unpaced into a topic first; then the pipeline
#      (bounded: 'scan.bounded.mode' = 'latest-offset') drains them into an output topic
#      while the load tool reads that output. Once with the connector's client settings,
#      once with the consumer's fetch.queue.backoff.ms=10 (librdkafka's 1000 ms default
#      pauses fetching after every large fetch).
#   2. latency, at each rate of RATES for SECONDS (after a warm-up): the load tool sends
#      bids paced every millisecond, each with its send time (`sent_at`, µs), and reads the
#      output topic; latency = receive time - sent_at. First the broker alone (the tool
#      reads its own input topic: the floor of one hop), then the pipeline with the
#      connector's settings, then with its consumer's fetch.wait.max.ms=5 (the broker,
#      nisshi, holds a fetch for about half of fetch.wait.max.ms even when records wait).
#
# Topics have PARTITIONS partitions (default 1) and are deleted after each run: the
# broker's memory storage slows down as it fills (with ~2 M records of these bids in one
# partition, fetches stall for seconds), which is also why the latency runs are short
# (100,000/s for 3 + 10 + 1 s puts 1.4 M records into a topic). The pipeline is one
# process, stopped with SIGTERM after each latency run.
#
# Usage: scripts/bench-kafka.sh [EVENTS] [SECONDS]     (defaults: 2000000, 10)
# Environment:
#   BENCH_KAFKA_RATES       target rates in events/s (default "10000 100000")
#   BENCH_KAFKA_WARMUP      seconds of warm-up before each measured run (default 3)
#   BENCH_KAFKA_PARTITIONS  partitions of every topic (default 1)
#   BENCH_KAFKA_SET         more --set KEY=VALUE for every pipeline run, space-separated
#                           (e.g. "out.properties.linger.ms=1")
#   BENCH_KAFKA_ONLY        "throughput" or "latency": run only that part
#   BENCH_KAFKA_DUMP        a folder: per-record CSVs of every latency run go there
# Services: started if the broker does not answer (and stopped again at the end); left
# alone if it does. Needs the Kafka client's build packages (scripts/services.sh deps).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dflc/target}"
events="${1:-2000000}"
seconds="${2:-10}"
rates="${BENCH_KAFKA_RATES:-10000 100000}"
warmup="${BENCH_KAFKA_WARMUP:-3}"
partitions="${BENCH_KAFKA_PARTITIONS:-1}"
only="${BENCH_KAFKA_ONLY:-}"
dump="${BENCH_KAFKA_DUMP:-}"
extra=()
for kv in ${BENCH_KAFKA_SET:-}; do extra+=(--set "$kv"); done

say() { printf 'bench-kafka: %s\n' "$*" >&2; }
for n in "$events" "$seconds" "$warmup" "$partitions" $rates; do
  [[ "$n" =~ ^[0-9]+$ ]] || { say "not a number: '$n'"; exit 2; }
done

work="$(mktemp -d)"
results="$work/results.txt"
started_services=0
topics=()
pipeline_pid=""
# Deletes the topics made so far: the broker's memory storage slows down as it fills.
drop_topics() {
  if [[ -x "${load:-}" ]]; then
    for t in "${topics[@]}"; do "$load" delete --brokers "$brokers" --topic "$t" >/dev/null 2>&1 || true; done
  fi
  topics=()
}
cleanup() {
  if [[ -n "$pipeline_pid" ]] && kill -0 "$pipeline_pid" 2>/dev/null; then
    kill -TERM "$pipeline_pid" 2>/dev/null || true
    wait "$pipeline_pid" 2>/dev/null || true
  fi
  drop_topics
  rm -rf "$work"
  if [[ "$started_services" == 1 ]]; then bash "$ROOT/scripts/services.sh" down >&2 || true; fi
}
trap cleanup EXIT

# ---------------------------------------------------------------------------------------
# Services and builds

source scripts/bench-broker.sh
bench_use_broker
broker_pid="$(head -1 "${DFL_SERVICES_DIR:-$HOME/.cache/dflc/services}/nisshi.pid" 2>/dev/null || true)"

say "building dflc, the load tool and the pipeline (release)"
cargo build --release --quiet --bin dflc
cargo build --release --quiet -p dfl --example kafka_load
dflc="$CARGO_TARGET_DIR/release/dflc"
load="$CARGO_TARGET_DIR/release/examples/kafka_load"
"$dflc" build examples/kafka/bench/q1_kafka.sql -o "$work/q1_kafka" >/dev/null
pipeline="$work/q1_kafka/q1_kafka"

# ---------------------------------------------------------------------------------------
# Helpers

run_id="bench-kafka-$$-$(date +%s)"
new_topic() { # new_topic NAME: creates it (remembered for deletion); its full name in $T
  T="$run_id-$1"
  "$load" create --brokers "$brokers" --topic "$T" --partitions "$partitions" 2>/dev/null
  topics+=("$T")
}
# CPU seconds (user + system) of a process so far.
cpu_of() {
  [[ -n "${1:-}" && -r "/proc/$1/stat" ]] || { echo 0; return; }
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat"
}
pipeline_args() { # IN OUT GROUP
  printf '%s\n' --set "bid.properties.bootstrap.servers=$brokers" --set "out.properties.bootstrap.servers=$brokers" \
    --set "bid.topic=$1" --set "out.topic=$2" --set "bid.properties.group.id=$3"
}
record() { printf '%s\n' "$*" | tee -a "$results"; }
sum() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a + b }'; }

record "Kafka benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, broker $brokers, $partitions partition(s) per topic"
record "pipeline: examples/kafka/bench/q1_kafka.sql (release)${extra[*]:+, with ${extra[*]}}"

# ---------------------------------------------------------------------------------------
# 1. Throughput

if [[ "$only" != latency ]]; then
  record ""
  record "== throughput: $events bids, produced first, then drained topic -> pipeline -> topic"
  new_topic tp-in
  in="$T"
  record "$("$load" produce --brokers "$brokers" --topic "$in" --count "$events")"
  for variant in defaults backoff; do
    case "$variant" in
      defaults) settings=() ;;
      backoff) settings=(--set bid.properties.fetch.queue.backoff.ms=10) ;;
    esac
    new_topic "tp-out-$variant"
    out="$T"
    "$load" drain --brokers "$brokers" --topic "$out" --count "$events" >"$work/drain.txt" 2>&1 &
    drain_pid=$!
    b0="$(cpu_of "$broker_pid")"
    mapfile -t args < <(pipeline_args "$in" "$out" "$run_id-tp-$variant")
    TIMEFORMAT='%U %S'
    { time "$pipeline" "${args[@]}" --set bid.scan.bounded.mode=latest-offset "${settings[@]}" "${extra[@]}" \
        2>"$work/pipeline.txt"; } 2>"$work/time.txt" || say "the pipeline failed: $(tail -3 "$work/pipeline.txt")"
    wait "$drain_pid" || true
    b1="$(cpu_of "$broker_pid")"
    read -r u s <"$work/time.txt"
    record "-- client settings: ${variant/backoff/consumer fetch.queue.backoff.ms=10}"
    record "   $(tail -1 "$work/pipeline.txt")"
    record "   output $(tail -1 "$work/drain.txt")"
    record "   cpu: pipeline $(sum "$u" "$s") s, broker $(sum "$b1" "-$b0") s"
    "$load" delete --brokers "$brokers" --topic "$out" >/dev/null 2>&1 || true
  done
  drop_topics
fi

# ---------------------------------------------------------------------------------------
# 2. Latency

latency_run() { # LABEL RATE IN OUT [pipeline settings...]  (OUT = IN: the broker alone)
  local label="$1" rate="$2" in="$3" out="$4"
  shift 4
  local b0 b1 p_cpu="" dumpopt=()
  [[ -n "$dump" ]] && { mkdir -p "$dump"; dumpopt=(--dump "$dump/$label-$rate.csv"); }
  b0="$(cpu_of "$broker_pid")"
  if [[ "$in" != "$out" ]]; then
    mapfile -t args < <(pipeline_args "$in" "$out" "$run_id-lat-$label-$rate")
    "$pipeline" "${args[@]}" "$@" "${extra[@]}" 2>"$work/pipeline.txt" &
    pipeline_pid=$!
  fi
  if ! "$load" latency --brokers "$brokers" --in "$in" --out "$out" --rate "$rate" --duration "$seconds" \
      --warmup "$warmup" "${dumpopt[@]}" >"$work/latency.txt" 2>&1; then
    say "the $label run at $rate/s failed:"
    cat "$work/latency.txt" >&2
  fi
  if [[ -n "$pipeline_pid" ]]; then
    p_cpu="$(cpu_of "$pipeline_pid")"
    kill -TERM "$pipeline_pid" 2>/dev/null || true
    wait "$pipeline_pid" 2>/dev/null || true
    pipeline_pid=""
  fi
  b1="$(cpu_of "$broker_pid")"
  record "-- $label, $rate events/s"
  sed 's/^latency: /   /' "$work/latency.txt" | tee -a "$results"
  [[ -n "$p_cpu" ]] && record "   $(tail -1 "$work/pipeline.txt")"
  record "   cpu: ${p_cpu:+pipeline $p_cpu s, }broker $(sum "$b1" "-$b0") s"
  drop_topics
}

if [[ "$only" != throughput ]]; then
  record ""
  record "== latency: paced bids, $warmup s warm-up, $seconds s measured, load $(cut -d' ' -f1-3 /proc/loadavg)"
  for rate in $rates; do
    new_topic "base-$rate"
    latency_run broker-alone "$rate" "$T" "$T"
    new_topic "lat-in-defaults-$rate"
    in="$T"
    new_topic "lat-out-defaults-$rate"
    latency_run pipeline-defaults "$rate" "$in" "$T"
    new_topic "lat-in-fetch5-$rate"
    in="$T"
    new_topic "lat-out-fetch5-$rate"
    latency_run pipeline-fetch-wait-5ms "$rate" "$in" "$T" --set bid.properties.fetch.wait.max.ms=5
  done
fi

echo
echo "================ summary ================"
cat "$results"
