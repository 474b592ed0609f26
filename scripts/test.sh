#!/usr/bin/env bash
# The whole test suite, as CI runs it (`.ci/run` calls this). Installs what the tests
# need, starts the services they use and stops them again.
#
# One persistent target directory outside the clone serves the workspace and every
# generated pipeline, so native dependencies are built once per machine.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dflc/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
mkdir -p "$CARGO_TARGET_DIR"

step() { printf '\n==> %s\n' "$*"; }

step "rustfmt"
cargo fmt --all -- --check

step "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "tests"
cargo test --workspace --locked
