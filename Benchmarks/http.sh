#!/usr/bin/env bash
# HTTP throughput of taskd: its own redis-server and two taskd replicas (release) on free loopback ports.
#   ./dev bench http [seconds-per-phase]
# 1. HTTP ceiling vs task read (wrk -t1 -c64, one replica): GET /health/live (no Redis, no auth) against
#    GET /v1/tasks/{id} with a Bearer credential; requests/s, p50/p99, and the ratio read/ceiling (goal ≥ 0.7).
# 2. Full lifecycles (HTTPLifecycleBenchmark): create → claim → 10 heartbeats → complete by 50 workers
#    spread over both replicas; lifecycles/s, requests/s, p50/p99 per request type.
# For every phase: CPU of each taskd replica, Redis and the load generator (from /proc/<pid>/stat), and
# taskd's RSS at its end, and taskd's CPU per request (both replicas' user + system time over the
# phase's requests). Environment: HTTP_BENCH_WORKERS (50), HTTP_BENCH_HEARTBEATS (10),
# HTTP_BENCH_CONNECTIONS (wrk -c, 64), HTTP_BENCH_MAX_REQUESTS (lifecycle request cap, 20000000),
# HTTP_BENCH_BIN_DIR (taskd and HTTPLifecycleBenchmark already built there: no build, for before/after pairs).
set -euo pipefail
cd "$ROOT"
SECS=${1:-10}
WORKERS=${HTTP_BENCH_WORKERS:-50}
HEARTBEATS=${HTTP_BENCH_HEARTBEATS:-10}
CONNECTIONS=${HTTP_BENCH_CONNECTIONS:-64}
MAX_REQUESTS=${HTTP_BENCH_MAX_REQUESTS:-20000000}
[[ "$SECS" =~ ^[0-9]+$ ]] && [ "$SECS" -ge 1 ] && [ "$SECS" -le 600 ] || { echo "seconds must be 1–600" >&2; exit 2; }

say() { printf '\033[1mhttp bench:\033[0m %s\n' "$*" >&2; }

# wrk and curl come with `./dev bench`; install them here too when the script is run on its own.
missing=()
for tool in wrk curl; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  say "installing ${missing[*]}"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ -n "${HTTP_BENCH_BIN_DIR:-}" ]; then
  BIN="$HTTP_BENCH_BIN_DIR"
else
  # One build at a time: both products in sequence.
  swift build -c release --product taskd >&2
  swift build -c release --product HTTPLifecycleBenchmark >&2
  BIN="$(swift build -c release --show-bin-path)"
fi

# shellcheck source=Benchmarks/lib/services.sh
source "$ROOT/Benchmarks/lib/services.sh"
bench_dir http
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
# Ready = Redis answers and the scripts are loaded; then the admin credential must work too.
for port in "${TASKD_PORTS[@]}"; do
  ok=""
  for _ in $(seq 1 150); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/health/ready" 2>/dev/null \
      && curl -fsS -o /dev/null -H "Authorization: $AUTH" "http://127.0.0.1:$port/v1/apikeys" 2>/dev/null; then ok=1; break; fi
    sleep 0.2
  done
  [ -n "$ok" ] || { say "taskd on port $port did not get ready; see $DIR/taskd-*.log"; exit 1; }
done
say "redis-server :$REDIS_PORT (pid $REDIS_PID), taskd :${TASKD_PORTS[0]} (pid ${TASKD_PIDS[0]}) and :${TASKD_PORTS[1]} (pid ${TASKD_PIDS[1]}); ${SECS} s per phase"

# CPU seconds (user + system) a process has used so far. Field 2 (comm) may hold spaces: cut after ')'.
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
rss_mib() { awk '/^VmRSS:/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }
CLK_TCK=$(getconf CLK_TCK)
now() { date +%s.%N; }
percent() { python3 -c "print(f'{($2 - $1) / $CLK_TCK / $3 * 100:.0f}%')"; } # ticks-before ticks-after seconds

# Runs a phase command while measuring CPU of Redis, both replicas and the load generator (the command itself).
# Sets PHASE_CPU (a printable line) and PHASE_TASKD_TICKS (both replicas' CPU ticks over the phase).
measure() {
  local before_redis before_t1 before_t2 start end load_pid load_before=0 load_after=0
  before_redis=$(cpu_ticks "$REDIS_PID"); before_t1=$(cpu_ticks "${TASKD_PIDS[0]}"); before_t2=$(cpu_ticks "${TASKD_PIDS[1]}")
  start=$(now)
  "$@" > "$DIR/phase.out" 2>&1 &
  load_pid=$!
  # Sample the generator's own CPU just before it exits (its /proc entry vanishes after wait).
  while kill -0 "$load_pid" 2>/dev/null; do
    load_after=$(cpu_ticks "$load_pid" 2>/dev/null || echo "$load_after")
    sleep 0.2
  done
  wait "$load_pid" || { cat "$DIR/phase.out" >&2; say "phase failed: $*"; exit 1; }
  end=$(now)
  local wall
  wall=$(python3 -c "print($end - $start)")
  PHASE_TASKD_TICKS=$(( $(cpu_ticks "${TASKD_PIDS[0]}") - before_t1 + $(cpu_ticks "${TASKD_PIDS[1]}") - before_t2 ))
  PHASE_CPU=$(printf 'cpu: taskd-1 %s  taskd-2 %s  redis %s  load generator ≥%s  (RSS taskd-1 %s MiB, taskd-2 %s MiB)' \
    "$(percent "$before_t1" "$(cpu_ticks "${TASKD_PIDS[0]}")" "$wall")" \
    "$(percent "$before_t2" "$(cpu_ticks "${TASKD_PIDS[1]}")" "$wall")" \
    "$(percent "$before_redis" "$(cpu_ticks "$REDIS_PID")" "$wall")" \
    "$(percent "$load_before" "$load_after" "$wall")" \
    "$(rss_mib "${TASKD_PIDS[0]}")" "$(rss_mib "${TASKD_PIDS[1]}")")
}

# wrk's "50%  1.23ms" → milliseconds.
wrk_ms() { # file percentile
  awk -v p="$2%" '$1 == p { v = $2; u = v; gsub(/[0-9.]/, "", u); sub(/[a-z]+$/, "", v);
    f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : 1; printf "%.2f", v * f }' "$1"
}
wrk_rps() { awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$1"; }
wrk_count() { awk '/ requests in / {print $1}' "$1"; }
# Microseconds of taskd CPU per request: ticks requests.
cpu_per_request() { python3 -c "print(f'{$1 / $CLK_TCK / max($2, 1) * 1e6:.0f}')"; }
wrk_bad() { awk '/Non-2xx or 3xx responses:/ {print $NF} /Socket errors:/ {print "socket errors: " $0}' "$1" | tr '\n' ' '; }

# A task to read: created on replica 1, as the wrk phase reads it from replica 1.
TASK_ID=$(curl -fsS -H "Authorization: $AUTH" -H 'Content-Type: application/json' \
  -d '{"commandType":"bench.read","description":"read by wrk","params":{"size":"typical"}}' \
  "http://127.0.0.1:${TASKD_PORTS[0]}/v1/tasks" | python3 -c 'import json, sys; print(json.load(sys.stdin)["taskId"])')
BASE="http://127.0.0.1:${TASKD_PORTS[0]}"

# Warm up both routes (and the credential cache) for a second each; not measured.
wrk -t1 -c"$CONNECTIONS" -d1s "$BASE/health/live" >/dev/null
wrk -t1 -c"$CONNECTIONS" -d1s -H "Authorization: $AUTH" "$BASE/v1/tasks/$TASK_ID" >/dev/null

say "phase 1: wrk -t1 -c$CONNECTIONS -d${SECS}s --latency, replica 1"
measure wrk -t1 -c"$CONNECTIONS" -d"${SECS}s" --latency "$BASE/health/live"
cp "$DIR/phase.out" "$DIR/wrk-live.out"; CPU_LIVE=$PHASE_CPU; US_LIVE=$(cpu_per_request "$PHASE_TASKD_TICKS" "$(wrk_count "$DIR/wrk-live.out")")
measure wrk -t1 -c"$CONNECTIONS" -d"${SECS}s" --latency -H "Authorization: $AUTH" "$BASE/v1/tasks/$TASK_ID"
cp "$DIR/phase.out" "$DIR/wrk-get.out"; CPU_GET=$PHASE_CPU; US_GET=$(cpu_per_request "$PHASE_TASKD_TICKS" "$(wrk_count "$DIR/wrk-get.out")")

LIVE_RPS=$(wrk_rps "$DIR/wrk-live.out"); GET_RPS=$(wrk_rps "$DIR/wrk-get.out")
RATIO=$(python3 -c "print(f'{$GET_RPS / $LIVE_RPS:.2f}')")
echo
printf '%-34s %12s %9s %9s  %s\n' "route (wrk -t1 -c$CONNECTIONS, ${SECS} s)" "requests/s" "p50 ms" "p99 ms" "non-2xx"
printf '%-34s %12s %9s %9s  %s\n' "GET /health/live (ceiling)" "$LIVE_RPS" "$(wrk_ms "$DIR/wrk-live.out" 50)" "$(wrk_ms "$DIR/wrk-live.out" 99)" "$(wrk_bad "$DIR/wrk-live.out")"
printf '  %s\n  taskd CPU per request: %s µs\n' "$CPU_LIVE" "$US_LIVE"
printf '%-34s %12s %9s %9s  %s\n' "GET /v1/tasks/{id} (Bearer)" "$GET_RPS" "$(wrk_ms "$DIR/wrk-get.out" 50)" "$(wrk_ms "$DIR/wrk-get.out" 99)" "$(wrk_bad "$DIR/wrk-get.out")"
printf '  %s\n  taskd CPU per request: %s µs\n' "$CPU_GET" "$US_GET"
printf 'ratio task read / ceiling: %s (goal ≥ 0.70)\n' "$RATIO"

say "phase 2: $WORKERS workers, create → claim → $HEARTBEATS heartbeats → complete, both replicas, ${SECS} s"
measure "$BIN/HTTPLifecycleBenchmark" --urls "http://127.0.0.1:${TASKD_PORTS[0]},http://127.0.0.1:${TASKD_PORTS[1]}" \
  --authorization "$AUTH" --workers "$WORKERS" --heartbeats "$HEARTBEATS" --seconds "$SECS" --max-requests "$MAX_REQUESTS"
echo
echo "lifecycles ($WORKERS workers, 2 replicas, $HEARTBEATS heartbeats each):"
grep -v '^RESULT' "$DIR/phase.out"
printf '  %s\n' "$PHASE_CPU"
LIFECYCLES=$(sed -n 's/^RESULT lifecycles_per_s=\([0-9.]*\) requests_per_s=\([0-9.]*\).*/\1/p' "$DIR/phase.out")
REQUESTS=$(sed -n 's/^RESULT lifecycles_per_s=\([0-9.]*\) requests_per_s=\([0-9.]*\).*/\2/p' "$DIR/phase.out")
LIFECYCLE_SECONDS=$(sed -n 's/^RESULT .* seconds=\([0-9.]*\).*/\1/p' "$DIR/phase.out")
US_LIFECYCLE=$(cpu_per_request "$PHASE_TASKD_TICKS" "$(python3 -c "print(round($REQUESTS * $LIFECYCLE_SECONDS))")")
printf '  taskd CPU per lifecycle request: %s µs, per /health/live request: %s µs (ratio %s, goal ≤ 1.5)\n' \
  "$US_LIFECYCLE" "$US_LIVE" "$(python3 -c "print(f'{$US_LIFECYCLE / max($US_LIVE, 1):.2f}')")"
echo
printf 'SUMMARY ceiling_rps=%s read_rps=%s ratio=%s lifecycles_per_s=%s lifecycle_requests_per_s=%s cpu_us_live=%s cpu_us_read=%s cpu_us_lifecycle=%s\n' \
  "$LIVE_RPS" "$GET_RPS" "$RATIO" "$LIFECYCLES" "$REQUESTS" "$US_LIVE" "$US_GET" "$US_LIFECYCLE"
