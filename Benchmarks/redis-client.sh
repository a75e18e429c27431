#!/usr/bin/env bash
# Redis client throughput against redis-benchmark on the same local redis-server, side by side.
#   ./dev bench redis-client [seconds-per-case] [default|nio]
# Prints ops/s for SET, GET and EVALSHA with 50 connections, one command in flight each and 16 in flight
# (pipelined), for both clients, the ratio taskd/redis-benchmark (goal: ≥ 0.9 in every row), and each
# client's CPU per command (user + system), which a busy machine disturbs far less than throughput.
# The second argument picks the executor the client's callers run on: libdispatch's pool as in taskd
# today (default), or NIO's event loops installed as the global executor (nio).
set -euo pipefail
cd "$ROOT"
SECONDS_PER_CASE=${1:-5}
EXECUTOR=${2:-default}
swift build -c release --product RedisClientBenchmark >&2
BIN="$(swift build -c release --show-bin-path)/RedisClientBenchmark"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
DIR="$STATE/bench-redis" && rm -rf "$DIR" && mkdir -p "$DIR"
redis-server --bind 127.0.0.1 --port "$PORT" --dir "$DIR" --save '' --appendonly no --logfile "$DIR/redis.log" &
REDIS_PID=$!
trap 'kill $REDIS_PID 2>/dev/null; wait $REDIS_PID 2>/dev/null' EXIT
until redis-cli -p "$PORT" ping >/dev/null 2>&1; do sleep 0.1; done

SHA=$(redis-cli -p "$PORT" SCRIPT LOAD "return redis.call('SET', KEYS[1], ARGV[1])")

# redis-benchmark runs a fixed count; size it so that each case takes about SECONDS_PER_CASE.
count() { echo $((SECONDS_PER_CASE * ($1 == 1 ? 100000 : 600000))); }
reference() { # depth, then the command words
  local depth=$1; shift
  redis-benchmark -p "$PORT" -c 50 -P "$depth" -n "$(count "$depth")" -d 3 --csv "$@" 2>/dev/null | tail -1 | cut -d, -f2 | tr -d '"'
}

# Runs a command and prints its output; the CPU it used (user + system seconds) goes to the file.
# CPU per command does not depend on what else the machine runs the way throughput does.
with_cpu() { # file, then the command
  local file=$1; shift
  local TIMEFORMAT='%U %S'
  { time "$@"; } 2>"$file"
}
cpu_seconds() { awk 'END { print $1 + $2 }' "$1"; }

printf '%-10s %-6s %16s %16s %7s %18s %12s\n' command depth redis-benchmark taskd ratio 'µs CPU/op: r-b' taskd
for depth in 1 16; do
  for cmd in set get evalsha; do
    case $cmd in
      set) ref=$(with_cpu "$DIR/ref.cpu" reference "$depth" SET key:__rand_int__ xxx) ;;
      get) ref=$(with_cpu "$DIR/ref.cpu" reference "$depth" GET key:__rand_int__) ;;
      evalsha) ref=$(with_cpu "$DIR/ref.cpu" reference "$depth" EVALSHA "$SHA" 1 key:__rand_int__ xxx) ;;
    esac
    # Ours prints its commands/s and its CPU per command over the measured loop (setup left out).
    read -r ours our_cpu < <("$BIN" --url "redis://127.0.0.1:$PORT" --connections 50 --depth "$depth" \
      --seconds "$SECONDS_PER_CASE" --command "$cmd" --executor "$EXECUTOR")
    read -r ratio ref_cpu < <(python3 -c "print(f'{$ours/$ref:.2f}', f'{$(cpu_seconds "$DIR/ref.cpu") * 1e6 / $(count "$depth"):.2f}')")
    printf '%-10s %-6s %16.0f %16.0f %7s %18s %12s\n' "$cmd" "$depth" "$ref" "$ours" "$ratio" "$ref_cpu" "$our_cpu"
  done
done
