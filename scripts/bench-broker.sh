# Sourced by the Kafka benchmarks (bench-kafka.sh, bench-scale-out.sh): uses the loopback
# broker of scripts/services.sh if it answers, else starts the services and sets
# started_services=1 (the caller stops them again); sets brokers to its bootstrap address.
# Needs say() and the repository root as the current folder.
bench_use_broker() {
  local port="${DFL_KAFKA_PORT:-19092}"
  if timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0"' "$port" 2>/dev/null; then
    say "the broker answers on 127.0.0.1:$port; using it"
  else
    say "starting the services (stopped again at the end)"
    started_services=1
    bash scripts/services.sh up >&2
  fi
  eval "$(bash scripts/services.sh env)"
  brokers="$DFL_KAFKA_BOOTSTRAP"
}
