#!/usr/bin/env bash
# Local services for the Kafka and Redis tests and examples, on loopback only:
# a Kafka-protocol broker (nisshi 0.8.1, memory storage) and redis-server.
#
#   scripts/services.sh deps     install the Debian packages the Kafka client and RocksDB builds need
#   scripts/services.sh up       install what is missing, start both, wait until they answer
#   scripts/services.sh down     stop both and remove their state
#   scripts/services.sh status   what runs where (exit 1 unless both answer)
#   scripts/services.sh env      `export` lines for eval: eval "$(scripts/services.sh env)"
#   scripts/services.sh logs     the tail of each service's log
#
# Environment:
#   DFL_KAFKA_PORT    broker port (default 19092)
#   DFL_REDIS_PORT    redis port (default 16379)
#   DFL_SERVICES_DIR  pid files, logs, the broker's working folder
#                     (default $HOME/.cache/dflc/services)
#   DFL_CACHE         cache folder; nisshi is kept in its bin/ (default $HOME/.cache/dflc)
#   DFL_NISSHI        a nisshi binary to use instead of looking one up
#   DFL_SERVICES_TIMEOUT  seconds to wait for a service to answer (default 60)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${DFL_CACHE:-$HOME/.cache/dflc}"
STATE="${DFL_SERVICES_DIR:-$HOME/.cache/dflc/services}"
KAFKA_PORT="${DFL_KAFKA_PORT:-19092}"
REDIS_PORT="${DFL_REDIS_PORT:-16379}"
READY_TIMEOUT="${DFL_SERVICES_TIMEOUT:-60}"
HOST=127.0.0.1
[[ "$STATE" == /* ]] || STATE="$PWD/$STATE"
[[ "$CACHE" == /* ]] || CACHE="$PWD/$CACHE"
NISSHI_VERSION=0.8.1
STOP_TIMEOUT=10

# Build dependencies of the Kafka client (rdkafka's bundled librdkafka, built with cmake)
# and of RocksDB (a C++ compiler, and libclang for the bindings of its C API).
DEPS=(cmake pkg-config libcurl4-openssl-dev libssl-dev libsasl2-dev zlib1g-dev libzstd-dev liblz4-dev
  g++ libclang1-14 libclang-common-14-dev)

say() { printf 'services: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

for p in "$KAFKA_PORT" "$REDIS_PORT" "$READY_TIMEOUT"; do
  [[ "$p" =~ ^[0-9]+$ ]] || die "not a number: '$p' (DFL_KAFKA_PORT, DFL_REDIS_PORT, DFL_SERVICES_TIMEOUT)"
done
[[ "$KAFKA_PORT" != "$REDIS_PORT" ]] || die "DFL_KAFKA_PORT and DFL_REDIS_PORT are both $KAFKA_PORT"

# ---------------------------------------------------------------------------------------
# helpers

# Runs a command as root: directly when root, else through sudo.
as_root() {
  if [[ "$(id -u)" -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root (or sudo) to run: $*"
  fi
}

pkg_installed() {
  # shellcheck disable=SC2016
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

# apt-get update, then install the given packages.
apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "no apt-get here; install by hand: $*"
  say "installing with apt-get: $*"
  # Progress to stderr, so that stdout carries nothing but what a command means to print.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

# True when something accepts a TCP connection on 127.0.0.1:$1.
port_open() {
  # shellcheck disable=SC2016
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$HOST" "$1" 2>/dev/null
}

# Start time of process $1 (field 22 of /proc/PID/stat, in clock ticks since boot): with
# the pid, it names one process, even after the pid has been reused.
proc_start() {
  local stat fields
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }" # the command name, in parentheses, may hold spaces
  read -ra fields <<<"$stat"
  echo "${fields[19]}"
}

# The pid in pid file $1 when that process is alive and is the one this script started
# (same start time, recorded in NAME.start beside NAME.pid), else nothing and status 1.
live_pid() {
  local file="$1" pid start
  [[ -f "$file" ]] || return 1
  pid="$(cat "$file" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  if [[ -d /proc/self ]]; then
    start="$(proc_start "$pid")" || return 1
    [[ "$start" == "$(cat "${file%.pid}.start" 2>/dev/null || true)" ]] || return 1
  fi
  echo "$pid"
}

# Starts "$@" in the background, in its own session, detached from the terminal, with
# stdout/stderr to log $2 and its pid written to pid file $1; from working folder $3.
spawn() {
  local pidfile="$1" log="$2" dir="$3"
  shift 3
  rm -f "$pidfile" "${pidfile%.pid}.start"
  (
    cd "$dir"
    # `exec` keeps the pid that `$$` wrote, whether or not setsid had to fork. Descriptors
    # above 2 are closed first, so the service holds neither the state lock (fd 9) nor a
    # pipe of whoever called this script (which would keep e.g. `| tee` waiting).
    # shellcheck disable=SC2016
    setsid bash -c '
      for fd in /proc/$$/fd/*; do
        fd=${fd##*/}
        if [[ $fd =~ ^[0-9]+$ ]] && ((fd > 2)); then eval "exec $fd>&-"; fi
      done
      echo $$ >"$0"
      exec "$@"' "$pidfile" "$@" </dev/null >"$log" 2>&1 &
  )
  local i
  for ((i = 0; i < 50; i++)); do
    if [[ -s "$pidfile" ]]; then
      proc_start "$(cat "$pidfile")" >"${pidfile%.pid}.start" || true
      return 0
    fi
    sleep 0.1
  done
  die "could not start $1 (no pid file $pidfile); log: $log"
}

show_log() {
  local log="$1"
  if [[ -s "$log" ]]; then
    say "log: $log (last lines):"
    tail -n 30 "$log" | sed 's/^/    /' >&2
  elif [[ -f "$log" ]]; then
    say "log: $log (empty)"
  else
    say "no log at $log"
  fi
}

# Polls a check (a command) until it succeeds, at most $READY_TIMEOUT seconds; fails early
# when the process dies. Arguments: name, pid file, log, the check...
wait_ready() {
  local name="$1" pidfile="$2" log="$3"
  shift 3
  local deadline=$((SECONDS + READY_TIMEOUT)) pid
  pid="$(cat "$pidfile")"
  while ((SECONDS < deadline)); do
    if "$@"; then
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      say "$name exited before it answered"
      show_log "$log"
      rm -f "$pidfile" "${pidfile%.pid}.start"
      return 1
    fi
    sleep 0.2
  done
  say "$name did not answer within ${READY_TIMEOUT}s"
  show_log "$log"
  stop_pid "$name" "$pidfile"
  return 1
}

# TERM, then KILL after $STOP_TIMEOUT seconds.
stop_pid() {
  local name="$1" pidfile="$2" pid i
  if pid="$(live_pid "$pidfile")"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      say "$name (pid $pid) still runs after ${STOP_TIMEOUT}s: KILL"
      kill -KILL "$pid" 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
    fi
    say "$name stopped (pid $pid)"
  else
    say "$name not running"
  fi
  rm -f "$pidfile" "${pidfile%.pid}.start"
}

# ---------------------------------------------------------------------------------------
# nisshi

NISSHI_PID="$STATE/nisshi.pid"
NISSHI_LOG="$STATE/nisshi.log"
NISSHI_PORTFILE="$STATE/nisshi.port"
NISSHI_DIR="$STATE/nisshi"

nisshi_ok() {
  local out
  out="$("$1" --version 2>/dev/null)" || return 1
  [[ "$out" == *"$NISSHI_VERSION"* ]]
}

# Prints the path of a nisshi binary, installing one into $CACHE/bin if needed.
find_nisshi() {
  if [[ -n "${DFL_NISSHI:-}" ]]; then
    [[ -x "$DFL_NISSHI" ]] || die "DFL_NISSHI=$DFL_NISSHI is not an executable"
    # Absolute, as the broker is started from its own folder.
    if [[ "$DFL_NISSHI" == /* ]]; then echo "$DFL_NISSHI"; else echo "$PWD/$DFL_NISSHI"; fi
    return
  fi
  local cached="$CACHE/bin/nisshi"
  if [[ -x "$cached" ]]; then
    if nisshi_ok "$cached"; then
      echo "$cached"
      return
    fi
    say "$cached is not a working nisshi $NISSHI_VERSION; replacing it"
  fi
  mkdir -p "$CACHE/bin"
  local shared
  shared="$(cd "$ROOT/.." && pwd)/shared/bin/nisshi"
  if [[ -x "$shared" ]] && nisshi_ok "$shared"; then
    say "copying the prebuilt nisshi from $shared to $cached"
    cp "$shared" "$cached.tmp.$$"
    chmod 755 "$cached.tmp.$$"
    mv -f "$cached.tmp.$$" "$cached"
    echo "$cached"
    return
  fi
  command -v cargo >/dev/null 2>&1 || die "no nisshi binary and no cargo to build one"
  say "no prebuilt nisshi found: building nisshi $NISSHI_VERSION with cargo install into $CACHE/bin"
  say "this takes 35-50 minutes on 2 cores (once per machine)"
  # A target folder of its own, kept until the install succeeds: an interrupted build
  # resumes where it stopped, and the project's shared target folder stays out of it.
  local target="$CACHE/build/nisshi"
  CARGO_TARGET_DIR="$target" cargo install nisshi --version "$NISSHI_VERSION" --locked \
    --ignore-rust-version --no-default-features --features dynostore,libsql \
    --root "$CACHE" >&2
  nisshi_ok "$cached" || die "cargo install did not produce a working $cached"
  rm -rf "$target"
  echo "$cached"
}

kafka_up() {
  local pid port
  if pid="$(live_pid "$NISSHI_PID")"; then
    port="$(cat "$NISSHI_PORTFILE" 2>/dev/null || echo "$KAFKA_PORT")"
    [[ "$port" == "$KAFKA_PORT" ]] ||
      die "nisshi already runs on port $port (pid $pid), not $KAFKA_PORT: run 'down' first"
    if port_open "$port"; then
      say "nisshi already running: $HOST:$port (pid $pid)"
      return 0
    fi
    say "nisshi (pid $pid) runs but port $port does not answer; restarting it"
    stop_pid nisshi "$NISSHI_PID"
  fi
  port_open "$KAFKA_PORT" && die "port $KAFKA_PORT is taken by another process; set DFL_KAFKA_PORT"

  local bin
  bin="$(find_nisshi)"
  # A folder of its own: nisshi reads a .env from its working folder.
  rm -rf "$NISSHI_DIR"
  mkdir -p "$NISSHI_DIR"
  echo "$KAFKA_PORT" >"$NISSHI_PORTFILE"
  say "starting nisshi ($bin) on $HOST:$KAFKA_PORT, log $NISSHI_LOG"
  spawn "$NISSHI_PID" "$NISSHI_LOG" "$NISSHI_DIR" \
    "$bin" broker --group-initial-rebalance-delay 0s \
    --listener-url "tcp://$HOST:$KAFKA_PORT" \
    --advertised-listener-url "tcp://$HOST:$KAFKA_PORT" \
    --storage-engine memory://nisshi/ --silent
  wait_ready nisshi "$NISSHI_PID" "$NISSHI_LOG" port_open "$KAFKA_PORT" ||
    die "nisshi did not start (log: $NISSHI_LOG)"
  say "nisshi ready: $HOST:$KAFKA_PORT (pid $(cat "$NISSHI_PID"))"
}

kafka_down() {
  stop_pid nisshi "$NISSHI_PID"
  rm -rf "$NISSHI_DIR" "$NISSHI_PORTFILE" "$NISSHI_LOG"
}

# ---------------------------------------------------------------------------------------
# redis

REDIS_PID="$STATE/redis.pid"
REDIS_LOG="$STATE/redis.log"
REDIS_PORTFILE="$STATE/redis.port"
REDIS_DIR="$STATE/redis"

redis_ping() {
  [[ "$(timeout 2 redis-cli -h "$HOST" -p "$1" ping 2>/dev/null || true)" == "PONG" ]]
}

ensure_redis() {
  if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
    apt_install redis-server redis-tools
    hash -r
    command -v redis-server >/dev/null 2>&1 || die "redis-server still not on PATH after installing it"
  fi
}

redis_up() {
  local pid port
  if pid="$(live_pid "$REDIS_PID")"; then
    port="$(cat "$REDIS_PORTFILE" 2>/dev/null || echo "$REDIS_PORT")"
    [[ "$port" == "$REDIS_PORT" ]] ||
      die "redis-server already runs on port $port (pid $pid), not $REDIS_PORT: run 'down' first"
    if redis_ping "$port"; then
      say "redis-server already running: $HOST:$port (pid $pid)"
      return 0
    fi
    say "redis-server (pid $pid) runs but does not answer PING on $port; restarting it"
    stop_pid redis-server "$REDIS_PID"
  fi
  port_open "$REDIS_PORT" && die "port $REDIS_PORT is taken by another process; set DFL_REDIS_PORT"

  ensure_redis
  rm -rf "$REDIS_DIR"
  mkdir -p "$REDIS_DIR"
  echo "$REDIS_PORT" >"$REDIS_PORTFILE"
  say "starting redis-server on $HOST:$REDIS_PORT, log $REDIS_LOG"
  spawn "$REDIS_PID" "$REDIS_LOG" "$REDIS_DIR" \
    redis-server --port "$REDIS_PORT" --bind "$HOST" --save '' --appendonly no \
    --daemonize no --dir "$REDIS_DIR"
  wait_ready redis-server "$REDIS_PID" "$REDIS_LOG" redis_ping "$REDIS_PORT" ||
    die "redis-server did not start (log: $REDIS_LOG)"
  say "redis-server ready: $HOST:$REDIS_PORT (pid $(cat "$REDIS_PID"))"
}

redis_down() {
  stop_pid redis-server "$REDIS_PID"
  rm -rf "$REDIS_DIR" "$REDIS_PORTFILE" "$REDIS_LOG"
}

# ---------------------------------------------------------------------------------------
# commands

cmd_deps() {
  command -v dpkg-query >/dev/null 2>&1 || die "not a Debian system; install by hand: ${DEPS[*]}"
  local missing=() p
  for p in "${DEPS[@]}"; do
    pkg_installed "$p" || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then
    say "build dependencies present: ${DEPS[*]}"
  else
    apt_install "${missing[@]}"
    say "installed: ${missing[*]}"
  fi
}

# Port of a running service (from its state), else the configured one.
running_port() {
  local pidfile="$1" portfile="$2" default="$3"
  if live_pid "$pidfile" >/dev/null && [[ -s "$portfile" ]]; then
    cat "$portfile"
  else
    echo "$default"
  fi
}

cmd_status() {
  local pid port rc=0
  if pid="$(live_pid "$NISSHI_PID")"; then
    port="$(cat "$NISSHI_PORTFILE" 2>/dev/null || echo "?")"
    if port_open "$port"; then
      echo "kafka (nisshi): running, pid $pid, bootstrap $HOST:$port, log $NISSHI_LOG"
    else
      echo "kafka (nisshi): pid $pid alive but $HOST:$port does not answer, log $NISSHI_LOG"
      rc=1
    fi
  else
    echo "kafka (nisshi): stopped (port $KAFKA_PORT)"
    rc=1
  fi
  if pid="$(live_pid "$REDIS_PID")"; then
    port="$(cat "$REDIS_PORTFILE" 2>/dev/null || echo "?")"
    if redis_ping "$port"; then
      echo "redis: running, pid $pid, redis://$HOST:$port, log $REDIS_LOG"
    else
      echo "redis: pid $pid alive but $HOST:$port does not answer PING, log $REDIS_LOG"
      rc=1
    fi
  else
    echo "redis: stopped (port $REDIS_PORT)"
    rc=1
  fi
  echo "state: $STATE"
  return "$rc"
}

cmd_env() {
  local kport rport
  kport="$(running_port "$NISSHI_PID" "$NISSHI_PORTFILE" "$KAFKA_PORT")"
  rport="$(running_port "$REDIS_PID" "$REDIS_PORTFILE" "$REDIS_PORT")"
  echo "export DFL_KAFKA_BOOTSTRAP=$HOST:$kport"
  echo "export DFL_REDIS_URL=redis://$HOST:$rport"
}

cmd_logs() {
  show_log "$NISSHI_LOG"
  show_log "$REDIS_LOG"
}

# One `up` or `down` at a time per state folder.
lock_state() {
  mkdir -p "$STATE"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$STATE/.lock"
    flock 9
  fi
}

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
}

case "${1:-}" in
  up)
    lock_state
    kafka_up
    redis_up
    ;;
  down)
    lock_state
    kafka_down
    redis_down
    ;;
  status) cmd_status ;;
  env) cmd_env ;;
  deps) cmd_deps ;;
  logs) cmd_logs ;;
  -h | --help | help)
    usage
    ;;
  *)
    usage
    exit 2
    ;;
esac
