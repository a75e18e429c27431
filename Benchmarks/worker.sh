#!/usr/bin/env bash
# Lifecycles through TaskWorker next to the same through TaskStore, same run, one private redis-server.
#   ./dev bench worker [seconds]        (default 10 s measured per side, after 2 s warm-up each)
# create → claim → 10 progress reports → complete, 50 at once; prints lifecycles/s, Redis CPU per
# lifecycle, the worker ÷ store ratio (goal ≥ 0.9) and the lead over BullMQ-py (goal ≥ 6×).
set -euo pipefail
cd "$ROOT"
swift build -c release --product WorkerLifecycleBenchmark >&2
BIN="$(swift build -c release --show-bin-path)/WorkerLifecycleBenchmark"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
DIR="$STATE/bench-worker" && rm -rf "$DIR" && mkdir -p "$DIR"
redis-server --bind 127.0.0.1 --port "$PORT" --dir "$DIR" --save '' --appendonly no --logfile "$DIR/redis.log" &
REDIS_PID=$!
trap 'kill "$REDIS_PID" 2>/dev/null; wait "$REDIS_PID" 2>/dev/null' EXIT
for _ in $(seq 1 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
echo "redis-server $(redis-cli -p "$PORT" INFO server | tr -d '\r' | awk -F: '/^redis_version/ {print $2}') on 127.0.0.1:$PORT, $(nproc) cores"
"$BIN" --url "redis://127.0.0.1:$PORT" --seconds "${1:-10}"
