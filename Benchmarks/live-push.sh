#!/usr/bin/env bash
# Live push latency (issue 5): its own redis-server and two taskd replicas (release) on free loopback ports.
#   ./dev bench live-push [seconds]          (default 20 s of load)
# LivePushBenchmark creates and claims 100 tasks, opens 1,000 SSE watchers (10 per task, 5 on each
# replica), sends 1,000 heartbeats/s (open loop, distinct progress each, a task's heartbeats alternating
# between the replicas), completes the tasks and checks every stream. It prints push latency (event at
# the watcher − heartbeat response at the worker) p50/p99/max over all (event, watcher) pairs, events
# expected/received/missing/duplicated, the achieved heartbeat rate and response time, and CPU and RSS
# of both replicas, Redis and itself over the load. Goal: p99 ≤ 10 ms, no event lost.
# Environment: LIVE_BENCH_TASKS (100), LIVE_BENCH_WATCHERS (1000), LIVE_BENCH_RATE (1000),
# LIVE_BENCH_WORKER_CONNECTIONS (50 per replica), LIVE_BENCH_THREADS (load generator threads, 1),
# LIVE_BENCH_PERF=1 (perf record -g both replicas for the whole run; report in .dev/bench-live-push/),
# LIVE_BENCH_BIN_DIR (taskd and LivePushBenchmark already built there: no build, for before/after pairs).
set -euo pipefail
cd "$ROOT"
SECS=${1:-20}
TASKS=${LIVE_BENCH_TASKS:-100}
WATCHERS=${LIVE_BENCH_WATCHERS:-1000}
RATE=${LIVE_BENCH_RATE:-1000}
WORKER_CONNECTIONS=${LIVE_BENCH_WORKER_CONNECTIONS:-50}
THREADS=${LIVE_BENCH_THREADS:-1}
PERF=${LIVE_BENCH_PERF:-}
[[ "$SECS" =~ ^[0-9]+$ ]] && [ "$SECS" -ge 1 ] && [ "$SECS" -le 600 ] || { echo "seconds must be 1–600" >&2; exit 2; }

say() { printf '\033[1mlive-push bench:\033[0m %s\n' "$*" >&2; }

if [ -n "${LIVE_BENCH_BIN_DIR:-}" ]; then
  BIN="$LIVE_BENCH_BIN_DIR"
  [ -x "$BIN/taskd" ] && [ -x "$BIN/LivePushBenchmark" ] || { echo "LIVE_BENCH_BIN_DIR has no taskd and LivePushBenchmark" >&2; exit 2; }
else
  # One build at a time: both products in sequence.
  swift build -c release --product taskd >&2
  swift build -c release --product LivePushBenchmark >&2
  BIN="$(swift build -c release --show-bin-path)"
fi

# shellcheck source=Benchmarks/lib/services.sh
source "$ROOT/Benchmarks/lib/services.sh"
bench_dir live-push
start_redis

KEY="bench-admin"
SECRET=$(openssl rand -hex 24)
AUTH="Bearer $KEY:$SECRET"
TASKD_PIDS=()
TASKD_PORTS=()
for replica in 1 2; do
  port=$(free_port)
  TASKD_REDIS_URL="redis://127.0.0.1:$REDIS_PORT" TASKD_HOST=127.0.0.1 TASKD_PORT=$port TASKD_PREFIX=bench \
    TASKD_ADMIN_KEY=$KEY TASKD_ADMIN_SECRET=$SECRET TASKD_LOG_LEVEL=warning \
    "$BIN/taskd" > "$DIR/taskd-$replica.log" 2>&1 &
  TASKD_PIDS+=("$!")
  PIDS+=("$!")
  TASKD_PORTS+=("$port")
done
# Ready = Redis answers, the scripts are loaded and keyspace notifications are on; then the admin credential must work too.
for port in "${TASKD_PORTS[@]}"; do
  ok=""
  for _ in $(seq 1 150); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/health/ready" 2>/dev/null \
      && curl -fsS -o /dev/null -H "Authorization: $AUTH" "http://127.0.0.1:$port/v1/apikeys" 2>/dev/null; then ok=1; break; fi
    sleep 0.2
  done
  [ -n "$ok" ] || { say "taskd on port $port did not get ready; see $DIR/taskd-*.log"; exit 1; }
done
say "redis-server :$REDIS_PORT (pid $REDIS_PID), taskd :${TASKD_PORTS[0]} (pid ${TASKD_PIDS[0]}) and :${TASKD_PORTS[1]} (pid ${TASKD_PIDS[1]}); ${SECS} s of load"

PERF_PID=""
if [ -n "$PERF" ]; then
  perf record -F 499 -g -o "$DIR/perf.data" -p "${TASKD_PIDS[0]},${TASKD_PIDS[1]}" > "$DIR/perf.log" 2>&1 &
  PERF_PID=$!
  PIDS+=("$PERF_PID")
fi

# Bounded: setup, the load, the drain and the end of the streams take well under SECS + 240 s.
status=0
timeout --signal=TERM --kill-after=10 $((SECS + 240)) "$BIN/LivePushBenchmark" \
  --urls "http://127.0.0.1:${TASKD_PORTS[0]},http://127.0.0.1:${TASKD_PORTS[1]}" --authorization "$AUTH" \
  --tasks "$TASKS" --watchers "$WATCHERS" --rate "$RATE" --seconds "$SECS" --worker-connections "$WORKER_CONNECTIONS" \
  --threads "$THREADS" --pids "taskd-1=${TASKD_PIDS[0]},taskd-2=${TASKD_PIDS[1]},redis=$REDIS_PID" \
  > "$DIR/result.out" || status=$?

if [ -n "$PERF_PID" ]; then
  kill -INT "$PERF_PID" 2>/dev/null || true
  wait "$PERF_PID" 2>/dev/null || true
  perf report -i "$DIR/perf.data" --no-children --sort comm,dso,symbol --stdio 2>/dev/null | grep -v '^$' | head -80 > "$DIR/perf-report.txt" || true
  say "perf profile of both replicas: $DIR/perf.data (top: $DIR/perf-report.txt)"
fi

echo
grep -v '^RESULT' "$DIR/result.out" || true
grep -h -i -E 'error|warn|fatal' "$DIR"/taskd-*.log | head -5 | sed 's/^/taskd log: /' || true
echo
grep '^RESULT' "$DIR/result.out" | sed 's/^RESULT/SUMMARY/' || true
[ "$status" -eq 0 ] || say "the run found lost, duplicated or out-of-order events, unclean stream ends or failed heartbeats (exit $status)"
exit "$status"
