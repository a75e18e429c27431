#!/usr/bin/env bash
# What hostile requests cost taskd (issue 13): its own redis-server and one taskd (release) on free
# loopback ports; taskd's CPU (from /proc/<pid>/stat) per request, for
#   1. the nested-JSON bomb: POST /v1/tasks with ten arrays nested 500 deep (10 kB; cost ~8 s each before);
#   2. a heartbeat snapshot nested 100 deep (5 kB; ~3.9 s before);
#   3. a valid 1 MiB-class body (a task with 60 kB of params) as a baseline for "work per body byte";
#   4. wrong secrets: 300 requests from one address (429 after 20; each 401 was an uncached Redis lookup).
#   ./dev bench hostile-input [requests-per-phase]   (default 20; phase 4 is always 300)
set -euo pipefail
cd "$ROOT"
N=${1:-20}
[[ "$N" =~ ^[0-9]+$ ]] && [ "$N" -ge 1 ] && [ "$N" -le 1000 ] || { echo "requests must be 1–1000" >&2; exit 2; }
say() { printf '\033[1mhostile-input bench:\033[0m %s\n' "$*" >&2; }

swift build -c release --product taskd >&2
BIN="$(swift build -c release --show-bin-path)"
# shellcheck source=Benchmarks/lib/services.sh
source "$ROOT/Benchmarks/lib/services.sh"
bench_dir hostile
start_redis

KEY=bench-admin SECRET=$(openssl rand -hex 24) PORT=$(free_port)
TASKD_REDIS_URL="redis://127.0.0.1:$REDIS_PORT" TASKD_PORT=$PORT TASKD_ADMIN_KEY=$KEY TASKD_ADMIN_SECRET=$SECRET \
  TASKD_LOG_LEVEL=warning "$BIN/taskd" > "$DIR/taskd.log" 2>&1 &
TASKD_PID=$!
PIDS+=("$TASKD_PID")
URL="http://127.0.0.1:$PORT"
for _ in $(seq 1 100); do curl -fsS -u "$KEY:$SECRET" "$URL/v1/tasks" >/dev/null 2>&1 && break; sleep 0.1; done

# CPU seconds (user + system) of taskd so far.
cpu() { awk -v t="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); split($0, f, " "); printf "%.4f", (f[12] + f[13]) / t }' "/proc/$TASKD_PID/stat"; }

# phase NAME COUNT EXPECTED-STATUS CURL-ARGS...: COUNT requests; prints CPU per request and the statuses seen.
phase() {
  local name=$1 count=$2 expected=$3 before after statuses
  shift 3
  before=$(cpu)
  statuses=$(for _ in $(seq 1 "$count"); do curl -s -o /dev/null -w '%{http_code}\n' "$@"; done | sort | uniq -c | awk '{printf "%s×%s ", $1, $2}')
  after=$(cpu)
  printf '%-44s %6d requests  taskd CPU %8.3f ms/request  statuses %s(expected %s)\n' "$name" "$count" \
    "$(awk -v a="$after" -v b="$before" -v n="$count" 'BEGIN { print (a - b) * 1000 / n }')" "$statuses" "$expected"
}

python3 -c "print('{\"commandType\":\"x\",\"zzz\":['+','.join(['['*500+']'*500]*10)+']}')" > "$DIR/bomb.json"
python3 -c "print('{\"leaseToken\":\"t\",\"ops\":{\"1\":{\"snapshot\":'+'['*100+']'*100+'}}}')" > "$DIR/snapshot.json"
python3 -c "import json; print(json.dumps({'commandType':'big','params':{'blob':'x'*60000}}))" > "$DIR/big.json"
JSON=(-H 'content-type: application/json')
say "taskd pid $TASKD_PID on $URL; $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
phase "nested bomb (10 kB, 500 deep)" "$N" 400 -u "$KEY:$SECRET" "${JSON[@]}" --data-binary @"$DIR/bomb.json" "$URL/v1/tasks"
phase "heartbeat snapshot (100 deep)" "$N" 400 -u "$KEY:$SECRET" "${JSON[@]}" --data-binary @"$DIR/snapshot.json" \
  "$URL/v1/tasks/01a205c3-7630-7000-917e-31b5e9ea6dbe/heartbeat"
phase "valid create, 60 kB params (baseline)" "$N" 202 -u "$KEY:$SECRET" "${JSON[@]}" --data-binary @"$DIR/big.json" "$URL/v1/tasks"
phase "wrong secret ×300 from one address" 300 "401×20 then 429" -u "$KEY:wrong-secret" "$URL/v1/tasks"
