#!/usr/bin/env bash
# The whole test suite, as CI runs it (`.ci/run` calls this). Installs what the tests
# need, starts the services they use and stops them again.
#
# One persistent target directory outside the clone serves the workspace and every
# generated pipeline, so native dependencies are built once per machine.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dflc/target}"
# No incremental caches: every crate here (and each generated pipeline) is built once per
# run, and the caches of the shared target directory only grow (tens of GB over many runs).
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
mkdir -p "$CARGO_TARGET_DIR"

step() { printf '\n==> %s\n' "$*"; }

step "system packages"
bash scripts/services.sh deps

step "RocksDB static library (built once per machine, ~12 min; then linked by every build)"
bash scripts/rocksdb.sh build
eval "$(bash scripts/rocksdb.sh env)"

step "rustfmt"
cargo fmt --all -- --check
cargo fmt --manifest-path examples/embedded/Cargo.toml -- --check

step "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy -p dfl --all-targets --features rocksdb --locked -- -D warnings
cargo clippy -p dfl --all-targets --features macros,tokio --locked -- -D warnings

step "services (Kafka broker, Redis)"
# Stopped again on any exit, success or failure; on failure their logs are shown first.
stop_services() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ $rc -ne 0 ]]; then bash scripts/services.sh logs || true; fi
  bash scripts/services.sh down || true
  exit "$rc"
}
trap stop_services EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
bash scripts/services.sh up
eval "$(bash scripts/services.sh env)"
echo "DFL_KAFKA_BOOTSTRAP=$DFL_KAFKA_BOOTSTRAP DFL_REDIS_URL=$DFL_REDIS_URL"

step "tests"
cargo test --workspace --locked
# The RocksDB state backend's own tests (the end-to-end tests use it through generated
# pipelines already).
cargo test -p dfl --features rocksdb --locked --lib state
# Embedded pipelines awaited from a tokio program (the runtime's `tokio` feature).
cargo test -p dfl --features tokio --locked --lib embedded
