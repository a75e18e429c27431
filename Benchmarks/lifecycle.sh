#!/usr/bin/env bash
# Task lifecycle through TaskStore on a private redis-server, against the EVALSHA ceiling of the same server.
#   ./dev bench lifecycle [seconds]        (default 10 s measured, after a 2 s warm-up)
# 50 workers each loop create → claim → 10 heartbeats (progress 10…100) → complete (13 transitions).
# Prints lifecycles/s, transitions/s, Redis CPU and commands per lifecycle/transition, the client's
# commands per transition (counted with MONITOR on a short separate run), bytes per retained finished
# task (Redis defaults, then stream-node-max-bytes 512, then also hash-max-listpack-value 512), the
# redis-benchmark EVALSHA ceiling of a heartbeat-sized script, and each figure against its goal.
set -euo pipefail
cd "$ROOT"
SECONDS_MEASURED=${1:-10}
WORKERS=50
swift build -c release --product TaskLifecycleBenchmark >&2
BIN="$(swift build -c release --show-bin-path)/TaskLifecycleBenchmark"

# A free loopback port, checked: nothing may answer on it.
PORT=""
for _ in $(seq 1 20); do
  candidate=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then PORT=$candidate; break; fi
done
[ -n "$PORT" ] || { echo "no free loopback port" >&2; exit 1; }
DIR="$STATE/bench-lifecycle" && rm -rf "$DIR" && mkdir -p "$DIR"
redis-server --bind 127.0.0.1 --port "$PORT" --dir "$DIR" --save '' --appendonly no --logfile "$DIR/redis.log" &
REDIS_PID=$!
MONITOR_PID=""
cleanup() {
  [ -n "$MONITOR_PID" ] && kill "$MONITOR_PID" 2>/dev/null
  kill "$REDIS_PID" 2>/dev/null; wait "$REDIS_PID" 2>/dev/null
}
trap cleanup EXIT
for _ in $(seq 1 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
R() { redis-cli -p "$PORT" "$@"; }
URL="redis://127.0.0.1:$PORT"
echo "redis-server $(R INFO server | tr -d '\r' | awk -F: '/^redis_version/ {print $2}') on 127.0.0.1:$PORT (pid $REDIS_PID), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

# 1. The client's commands per lifecycle: 20 lifecycles, one worker, every command seen by MONITOR.
#    Script-internal commands show up as "[0 lua]"; everything else came from the client.
CALIBRATE=20
redis-cli -p "$PORT" MONITOR >"$DIR/monitor.txt" &  # not through R(): $! must be redis-cli itself
MONITOR_PID=$!
sleep 0.3
"$BIN" --url "$URL" --calibrate "$CALIBRATE" >/dev/null
sleep 0.3
kill "$MONITOR_PID" 2>/dev/null; wait "$MONITOR_PID" 2>/dev/null || true
MONITOR_PID=""
CLIENT_COMMANDS=$(awk '/lifecycle-calibrate-begin/ {on = 1; next} /lifecycle-calibrate-end/ {on = 0} on && !/\[0 lua\]/ {n++} END {print n + 0}' "$DIR/monitor.txt")
CLIENT_BREAKDOWN=$(awk '/lifecycle-calibrate-begin/ {on = 1; next} /lifecycle-calibrate-end/ {on = 0}
  on && !/\[0 lua\]/ {c = $4; gsub(/"/, "", c); n[tolower(c)]++} END {for (k in n) printf "%s %d, ", k, n[k]}' "$DIR/monitor.txt")
ROUND_TRIPS=$(python3 -c "print(f'{$CLIENT_COMMANDS / ($CALIBRATE * 13):.3f}')")
echo
echo "client commands (MONITOR, $CALIBRATE lifecycles, 1 worker): $CLIENT_COMMANDS = ${CLIENT_BREAKDOWN%, }"
echo "  per lifecycle             $(python3 -c "print(f'{$CLIENT_COMMANDS / $CALIBRATE:.2f}')")"
echo "  round trips/transition    $ROUND_TRIPS   (each TaskStore call is awaited before the next)"
R FLUSHALL >/dev/null
R CONFIG RESETSTAT >/dev/null
echo

# 2. Throughput, Redis CPU, commands, memory (the Swift program prints these).
"$BIN" --url "$URL" --workers "$WORKERS" --seconds "$SECONDS_MEASURED" --result-file "$DIR/result.env"
# shellcheck disable=SC1091
source "$DIR/result.env"

# 3. The ceiling: redis-benchmark, 50 connections, EVALSHA of a heartbeat-sized script (HSET 4 fields of a
#    hash + XADD to its stream with MAXLEN ~ 1000), both keys under one hash tag.
CEILING_SCRIPT="redis.call('HSET', KEYS[1], 'progress', ARGV[1], 'version', ARGV[1], 'leaseExpiresAt', ARGV[2], 'updatedAt', ARGV[2])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', '1000', '*', 'kind', 'progress', 'status', 'running', 'version', ARGV[1], 'progress', ARGV[1])
return 1"
SHA=$(R SCRIPT LOAD "$CEILING_SCRIPT")
ceiling() { # N: ops/s
  redis-benchmark -p "$PORT" -c "$WORKERS" -n "$1" --csv EVALSHA "$SHA" 2 'bench:{ceiling}:task' 'bench:{ceiling}:task:events' \
    50 1700000000000 2>/dev/null | tail -1 | cut -d, -f2 | tr -d '"'
}
probe=$(ceiling 20000)
N=$(python3 -c "print(max(20000, min(5000000, int($probe * $SECONDS_MEASURED / 2))))")
cpu() { R INFO cpu | tr -d '\r' | awk -F: '/^used_cpu_(sys|user):/ {s += $2} END {printf "%.6f", s}'; }
cpu_before=$(cpu)
CEILING=$(ceiling "$N")
cpu_after=$(cpu)
CEILING_US=$(python3 -c "print(f'{($cpu_after - $cpu_before) * 1e6 / $N:.1f}')")
RATIO=$(python3 -c "print(f'{$TRANSITIONS_PER_S / $CEILING:.2f}')")
echo
echo "ceiling: redis-benchmark -c $WORKERS -n $N EVALSHA <HSET 4 fields + XADD MAXLEN ~ 1000> (sha $SHA)"
echo "  ops/s                     $CEILING"
echo "  Redis CPU per call        $CEILING_US µs (INFO cpu)"
echo "  transitions/s ÷ ceiling   $RATIO"

# 4. Against the goals.
verdict() { python3 -c "print('met' if $1 else 'MISSED')"; }
echo
echo "goals (measured; 'met'/'MISSED' from these figures only):"
printf '  %-44s %-28s %s\n' "one round trip per transition" "$ROUND_TRIPS" "$(verdict "$ROUND_TRIPS <= 1.0")"
printf '  %-44s %-28s %s\n' "≤ 25 µs Redis CPU per transition" "$REDIS_US_PER_TRANSITION µs" "$(verdict "$REDIS_US_PER_TRANSITION <= 25")"
printf '  %-44s %-28s %s\n' "≤ 325 µs Redis CPU per lifecycle" "$REDIS_US_PER_LIFECYCLE µs" "$(verdict "$REDIS_US_PER_LIFECYCLE <= 325")"
printf '  %-44s %-28s %s\n' "transitions/s ≥ 0.8 × EVALSHA ceiling" "$TRANSITIONS_PER_S/s = $RATIO × $CEILING" "$(verdict "$RATIO >= 0.8")"
printf '  %-44s %-28s %s\n' "about 2,000 lifecycles/s" "$LIFECYCLES_PER_S/s" "$(verdict "$LIFECYCLES_PER_S >= 2000")"
# Memory verdicts use the freed used_memory figures (they include the dict entries MEMORY USAGE leaves out).
for setting in DEFAULT NODE512 NODE512_HASH512; do
  without=${setting}_FREED_WITHOUT_HISTORY per_event=${setting}_FREED_PER_EVENT marginal=${setting}_MARGINAL_EVENT
  printf '  %-44s %-28s %s\n' "≤ 1,000 B/task w/o history, $setting" "${!without} B" "$(verdict "${!without} <= 1000")"
  printf '  %-44s %-28s %s\n' "≤ 80 B per history event, $setting" "${!per_event} B (marginal ${!marginal})" "$(verdict "${!per_event} <= 80")"
done
