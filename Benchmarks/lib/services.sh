# Shared by the benchmark scripts that start their own servers (sourced, not run; `say` must exist).
#   bench_dir NAME     scratch directory $STATE/bench-NAME, emptied (sets DIR)
#   free_port          a free loopback port
#   PIDS+=(pid)        processes stopped (and waited for) when the script exits
#   start_redis        a redis-server in $DIR without persistence (sets REDIS_PORT, REDIS_PID)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

bench_dir() { DIR="$STATE/bench-$1" && rm -rf "$DIR" && mkdir -p "$DIR"; }

PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

start_redis() {
  REDIS_PORT=$(free_port)
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$DIR" --save '' --appendonly no --logfile "$DIR/redis.log" &
  REDIS_PID=$!
  PIDS+=("$REDIS_PID")
  for _ in $(seq 1 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -p "$REDIS_PORT" ping >/dev/null || { say "redis-server did not start; see $DIR/redis.log"; exit 1; }
}
