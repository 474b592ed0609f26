#!/usr/bin/env bash
# RocksDB's static library, built once per machine into the cache, so that cargo links it
# instead of compiling RocksDB's C++ in every profile (debug tests, release pipelines) and
# after every `cargo clean`:
#
#   bash scripts/rocksdb.sh build   # builds it if missing (~35 min on 2 cores, once)
#   eval "$(bash scripts/rocksdb.sh env)"   # ROCKSDB_LIB_DIR / ROCKSDB_STATIC for cargo
#
# The library is built by the same `librocksdb-sys` crate (version from Cargo.lock) with
# the features the runtime enables, in release mode, under
# ${DFL_CACHE:-~/.cache/dflc}/rocksdb/<version>/. Needs cmake-free C++ tooling (g++),
# libclang for bindgen (Debian: libclang1-14 libclang-common-14-dev).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${DFL_CACHE:-$HOME/.cache/dflc}

version() {
    awk '/^name = "librocksdb-sys"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$root/Cargo.lock"
}

# Features of librocksdb-sys the runtime's `rocksdb` dependency turns on (see
# runtime/Cargo.toml); the library must be compiled with the same ones.
FEATURES='["static", "lz4", "bindgen-runtime"]'

lib_dir() {
    local v
    v=$(version)
    if [ -z "$v" ]; then
        echo "rocksdb.sh: librocksdb-sys is not in Cargo.lock" >&2
        exit 1
    fi
    echo "$cache/rocksdb/$v"
}

build() {
    local dir v project
    dir=$(lib_dir)
    v=$(version)
    if [ -f "$dir/librocksdb.a" ]; then
        echo "rocksdb.sh: $dir/librocksdb.a is there"
        return
    fi
    project="$cache/rocksdb/build-$v"
    mkdir -p "$project/src"
    cat >"$project/Cargo.toml" <<EOF
[package]
name = "dflc-rocksdb-prebuild"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
librocksdb-sys = { version = "=$v", default-features = false, features = $FEATURES }

[workspace]
EOF
    echo "" >"$project/src/lib.rs"
    echo "rocksdb.sh: building librocksdb-sys $v (release) in $project — about 35 minutes on 2 cores, once"
    local started=$SECONDS
    # Not the workspace's target folder: this build must not see ROCKSDB_LIB_DIR.
    (cd "$project" && env -u ROCKSDB_LIB_DIR -u ROCKSDB_STATIC CARGO_TARGET_DIR="$project/target" \
        cargo build --release --quiet)
    local built
    built=$(find "$project/target/release/build" -path '*librocksdb-sys-*/out/librocksdb.a' | head -1)
    if [ -z "$built" ]; then
        echo "rocksdb.sh: the build produced no librocksdb.a" >&2
        exit 1
    fi
    mkdir -p "$dir"
    cp "$built" "$dir/librocksdb.a.tmp"
    mv "$dir/librocksdb.a.tmp" "$dir/librocksdb.a"
    echo "rocksdb.sh: $dir/librocksdb.a built in $((SECONDS - started)) s"
    # The build folder (~1 GB of objects) is not needed any more.
    rm -rf "$project/target"
}

case "${1:-}" in
build) build ;;
env)
    dir=$(lib_dir)
    if [ ! -f "$dir/librocksdb.a" ]; then
        echo "rocksdb.sh: no $dir/librocksdb.a; run: bash scripts/rocksdb.sh build" >&2
        exit 1
    fi
    echo "export ROCKSDB_LIB_DIR='$dir' ROCKSDB_STATIC=1"
    ;;
*)
    echo "usage: scripts/rocksdb.sh build|env" >&2
    exit 2
    ;;
esac
