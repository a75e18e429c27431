#!/usr/bin/env bash
# Redis client throughput against redis-benchmark on the same local redis-server, side by side.
#   ./dev bench redis-client [seconds-per-case] [default|nio]
# Prints ops/s for SET, GET and EVALSHA with 50 connections, one command in flight each and 16 in flight
# (pipelined), for both clients, and the ratio taskd/redis-benchmark. Goal: ratio ≥ 0.9 in every row.
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
reference() { # depth, then the command words
  local depth=$1; shift
  local n=$((SECONDS_PER_CASE * (depth == 1 ? 100000 : 600000)))
  redis-benchmark -p "$PORT" -c 50 -P "$depth" -n "$n" -d 3 --csv "$@" 2>/dev/null | tail -1 | cut -d, -f2 | tr -d '"'
}

printf '%-10s %-6s %16s %16s %7s\n' command depth redis-benchmark taskd ratio
for depth in 1 16; do
  for cmd in set get evalsha; do
    case $cmd in
      set) ref=$(reference "$depth" SET key:__rand_int__ xxx) ;;
      get) ref=$(reference "$depth" GET key:__rand_int__) ;;
      evalsha) ref=$(reference "$depth" EVALSHA "$SHA" 1 key:__rand_int__ xxx) ;;
    esac
    ours=$("$BIN" --url "redis://127.0.0.1:$PORT" --connections 50 --depth "$depth" --seconds "$SECONDS_PER_CASE" --command "$cmd" --executor "$EXECUTOR")
    ratio=$(python3 -c "print(f'{$ours/$ref:.2f}')")
    printf '%-10s %-6s %16.0f %16.0f %7s\n' "$cmd" "$depth" "$ref" "$ours" "$ratio"
  done
done
