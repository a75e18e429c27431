#!/usr/bin/env bash
# The lifecycle benchmark against one redis-server and against a 3-master Redis Cluster, same
# machine, same run, same workload (TaskLifecycleBenchmark --throughput-only: 50 workers loop
# create → claim → 10 heartbeats → complete through TaskStore, 16 shards).
#   ./dev bench cluster [seconds-per-side]      (default 10)
# Prints lifecycles/s and Redis CPU per lifecycle (summed over the masters) for each, the ratio
# cluster ÷ single (goal ≤ 1.2), and each master's share of the Redis CPU and of the scripts run
# (goal: within ±20% of an equal share). The cluster has no replicas: replication would add its
# own CPU to the masters and is not what this compares. On 2 cores the cluster cannot be faster:
# three servers and the client share them.
set -euo pipefail
cd "$ROOT"
SECS=${1:-10}
SHARDS=${CLUSTER_BENCH_SHARDS:-16}
[[ "$SECS" =~ ^[0-9]+$ ]] && [ "$SECS" -ge 1 ] && [ "$SECS" -le 600 ] || { echo "seconds must be 1–600" >&2; exit 2; }
swift build -c release --product TaskLifecycleBenchmark >&2
BIN="$(swift build -c release --show-bin-path)/TaskLifecycleBenchmark"
DIR="$STATE/bench-cluster" && rm -rf "$DIR" && mkdir -p "$DIR"
say() { printf '\033[1mcluster bench:\033[0m %s\n' "$*" >&2; }

# shellcheck source=Tests/Cluster/redis-cluster.sh
source Tests/Cluster/redis-cluster.sh
SINGLE_PID=""
cleanup() {
  [ -n "$SINGLE_PID" ] && { kill "$SINGLE_PID" 2>/dev/null; wait "$SINGLE_PID" 2>/dev/null || true; }
  cluster_stop
}
trap cleanup EXIT

# 1. One redis-server.
PORT=$(cluster_free_port)
mkdir -p "$DIR/single"
redis-server --bind 127.0.0.1 --port "$PORT" --dir "$DIR/single" --save '' --appendonly no --logfile "$DIR/single/redis.log" &
SINGLE_PID=$!
for _ in $(seq 1 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
say "single redis-server on :$PORT; $SECS s, $SHARDS shards"
"$BIN" --url "redis://127.0.0.1:$PORT" --seconds "$SECS" --shards "$SHARDS" --throughput-only 1 --result-file "$DIR/single.env" > "$DIR/single.txt"
kill "$SINGLE_PID"; wait "$SINGLE_PID" 2>/dev/null || true; SINGLE_PID=""

# 2. Three masters, no replicas.
cluster_start "$DIR/cluster" 3 0
say "cluster $CLUSTER_URL; $SECS s, $SHARDS shards"
"$BIN" --url "$CLUSTER_URL" --seconds "$SECS" --shards "$SHARDS" --throughput-only 1 --result-file "$DIR/cluster.env" > "$DIR/cluster.txt"
cluster_stop

value() { grep "^$2=" "$DIR/$1.env" | cut -d= -f2- | tr -d '"'; }
echo "one redis-server vs a 3-master Redis Cluster, $(nproc) cores, 50 workers, $SHARDS shards, $SECS s each"
printf '  %-34s %14s %14s\n' "" "single" "cluster"
printf '  %-34s %14s %14s\n' "lifecycles/s" "$(value single LIFECYCLES_PER_S)" "$(value cluster LIFECYCLES_PER_S)"
printf '  %-34s %14s %14s\n' "Redis CPU per lifecycle (µs)" "$(value single REDIS_US_PER_LIFECYCLE)" "$(value cluster REDIS_US_PER_LIFECYCLE)"
printf '  %-34s %14s %14s\n' "Redis commands per lifecycle" "$(value single COMMANDS_PER_LIFECYCLE)" "$(value cluster COMMANDS_PER_LIFECYCLE)"
printf '  %-34s %14s %14s\n' "Redis CPU (% of one core, all)" "$(value single REDIS_CPU_PERCENT)" "$(value cluster REDIS_CPU_PERCENT)"
printf '  %-34s %14s %14s\n' "client CPU per transition (µs)" "$(value single CLIENT_US_PER_TRANSITION)" "$(value cluster CLIENT_US_PER_TRANSITION)"
grep -A4 "^per master" "$DIR/cluster.txt" || true
python3 - "$(value single REDIS_US_PER_LIFECYCLE)" "$(value cluster REDIS_US_PER_LIFECYCLE)" "$(value cluster CPU_SHARES)" "$(value cluster EVALSHA_SHARES)" <<'PY'
import sys
single, cluster = float(sys.argv[1]), float(sys.argv[2])
cpu = [float(x) for x in sys.argv[3].split()]
scripts = [float(x) for x in sys.argv[4].split()]
ratio = cluster / single
verdict = lambda ok: "met" if ok else "MISSED"
print("goals:")
print(f"  cost per lifecycle cluster ÷ single ≤ 1.2      {ratio:.2f}            {verdict(ratio <= 1.2)}")
print(f"  each master's CPU within ±20% of equal share   {' '.join(f'{x:.2f}' for x in cpu)}  {verdict(all(abs(x - 1) <= 0.2 for x in cpu))}")
print(f"  each master's scripts within ±20%              {' '.join(f'{x:.2f}' for x in scripts)}  {verdict(all(abs(x - 1) <= 0.2 for x in scripts))}")
PY
echo "(full output: $DIR/single.txt, $DIR/cluster.txt)"
