#!/usr/bin/env bash
# Measures Redis CPU per script call and memory per finished task, on a throwaway redis-server:
# N lifecycles of create → claim (30 s lease) → 10 heartbeats with progress and state, renewing by the
# claimed lease length (leaseMs "", as the Swift side sends by default) → complete, each phase pipelined
# with EVALSHA (redis-cli --pipe), with INFO commandstats / INFO cpu deltas per phase.
#   Lua/tests/measure.sh [N] [stream-node-max-bytes]     (defaults: 1000, Redis's own 4096)
#   MEASURE_CALLGRIND=1 Lua/tests/measure.sh 200         the same under valgrind's callgrind: also prints
#       thousands of instructions per call (whole server: reading the command, the script, the reply).
#       Unlike µs these do not move with other load on the machine (±0.5 %), so they compare two versions
#       of a script reliably on a busy machine; 50× slower, so use a small N.
# Memory: used_memory per finished task, split into "without history" and the event history (the task
# streams, deleted at the end to measure them exactly).
set -euo pipefail
N=${1:-1000}
NODE_BYTES=${2:-4096}
LUA="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d)"
PIDFILE="$WORK/redis.pid"
PORT=""
for candidate in $(seq 16491 16590); do
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then PORT=$candidate; break; fi
done
[[ -n $PORT ]] || { echo "no free port" >&2; exit 1; }
CALLGRIND=${MEASURE_CALLGRIND:-}
if [[ -n $CALLGRIND ]]; then
  # valgrind runs redis-server in its own process: no --daemonize, the pid is valgrind's.
  valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.%p" redis-server --port "$PORT" --bind 127.0.0.1 \
    --save '' --appendonly no --stream-node-max-bytes "$NODE_BYTES" --dir "$WORK" --logfile "$WORK/redis.log" \
    >"$WORK/valgrind.log" 2>&1 &
  echo $! >"$PIDFILE"
else
  redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --stream-node-max-bytes "$NODE_BYTES" \
    --daemonize yes --pidfile "$PIDFILE" --dir "$WORK" --logfile "$WORK/redis.log"
fi
cleanup() {
  if [[ -f $PIDFILE ]]; then kill "$(cat "$PIDFILE")" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
for _ in $(seq 300); do redis-cli -p "$PORT" PING >/dev/null 2>&1 && break; sleep 0.1; done
R() { redis-cli -p "$PORT" "$@"; }

declare -A SHA
for f in create-10 claim-5 heartbeat-5 complete-9; do
  SHA[$f]=$(R SCRIPT LOAD "$("$LUA/flatten.sh" "$LUA/$f.lua")")
done

# phase NAME CALLS: runs the RESP commands on stdin, prints Redis µs per call
phase() {
  local name=$1 calls=$2 cpu_before cpu_after dump
  R CONFIG RESETSTAT >/dev/null
  cpu_before=$(R INFO cpu | awk -F: '/^used_cpu_(sys|user):/ {s += $2} END {printf "%.6f", s}')
  [[ -z $CALLGRIND ]] || callgrind_control -z "$(cat "$PIDFILE")" >/dev/null 2>&1
  R --pipe >/dev/null
  if [[ -n $CALLGRIND ]]; then
    callgrind_control -d "$(cat "$PIDFILE")" >/dev/null 2>&1
    dump=$(ls -t "$WORK"/callgrind.* | head -1)
    awk -v name="$name" -v calls="$calls" '/^(summary|totals):/ {
      printf "%-10s %6.1f thousand instructions/call (callgrind, whole server)\n", name, $2 / calls / 1000; exit }' "$dump"
    rm -f "$WORK"/callgrind.*.*
  fi
  cpu_after=$(R INFO cpu | awk -F: '/^used_cpu_(sys|user):/ {s += $2} END {printf "%.6f", s}')
  R INFO commandstats | tr -d '\r' | awk -F'[:,=]' -v name="$name" -v calls="$calls" \
    -v cpu="$(echo "$cpu_after - $cpu_before" | bc -l)" '
    /^cmdstat_evalsha:/ { per = $7; n = $3 }
    /^cmdstat_/ { total += $3 }
    END { printf "%-10s %6d calls  %6.1f µs/call in the script (commandstats)  %6.1f µs/call process CPU (INFO cpu)  %4.1f commands/call\n",
          name, n, per, cpu * 1e6 / calls, (total - n) / n }'
}

NOW=$(date +%s%3N)
S='taskd:{taskd:0}:'
gen() { # python3 RESP generator: gen PHASE
  python3 - "$1" "$N" "$NOW" "$S" "${SHA[create-10]}" "${SHA[claim-5]}" "${SHA[heartbeat-5]}" "${SHA[complete-9]}" <<'EOF'
import sys, uuid
phase, n, now, s = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
sha = dict(zip(['create', 'claim', 'heartbeat', 'complete'], sys.argv[5:9]))
out = sys.stdout.buffer
def cmd(*args):
    parts = [b'*%d\r\n' % len(args)]
    for a in args:
        a = str(a).encode()
        parts.append(b'$%d\r\n%s\r\n' % (len(a), a))
    out.write(b''.join(parts))
ids = [str(uuid.UUID(int=(i + 1) * 0x1000000000000000000000001)) for i in range(n)]
def evalsha(name, keys, args):
    cmd('EVALSHA', sha[name], len(keys), *keys, *args)
for i, id in enumerate(ids):
    t, k = f'{s}task:{id}', f'{s}task:{id}:events'
    if phase == 'create':
        evalsha('create', [t, k, s + 'queue:backup', s + 'delayed', s + 'index:updated', s + 'index:active',
                           s + 'index:object', s + 'unique', s + 'idempotency', s + 'events'],
                [now, id, 'backup', 'task', 'Back up database 1', '{"bdb":1}', '', '', '', '', '', '', '', '', '', ''])
    elif phase == 'claim':
        evalsha('claim', [s + 'queue:backup', s + 'delayed', s + 'leases', s + 'index:updated', s + 'events'],
                [now + 1, s, 'worker-1', f'tok-{id}', 30000, '', '', ''])
    elif phase == 'heartbeat':
        for p in range(1, 11):
            evalsha('heartbeat', [t, k, s + 'leases', s + 'index:updated', s + 'events'],
                    [now + 1 + p, f'tok-{id}', '', p * 9, 'copying' if p > 1 else 'starting', '', '', '', ''])
    elif phase == 'complete':
        evalsha('complete', [t, k, s + 'leases', s + 'index:active', s + 'index:updated', s + 'index:finished',
                             s + 'unique', s + 'idempotency', s + 'events'],
                [now + 20, f'tok-{id}', '{"resourceId":1}', '', ''])
    elif phase == 'ids':
        print(id)
EOF
}
echo "Redis $(R INFO server | tr -d '\r' | awk -F: '/^redis_version/ {print $2}'), $N lifecycles, stream-node-max-bytes $NODE_BYTES"
gen create | phase create "$N"
gen claim | phase claim "$N"
gen heartbeat | phase heartbeat $((N * 10))
gen complete | phase complete "$N"

gen ids >"$WORK/ids"
ID=$(head -1 "$WORK/ids")
echo
echo "one finished task ($ID):"
hash=$(R MEMORY USAGE "${S}task:$ID" SAMPLES 0)
stream=$(R MEMORY USAGE "${S}task:$ID:events" SAMPLES 0)
events=$(R XLEN "${S}task:$ID:events")
echo "  hash            $hash bytes ($(R OBJECT ENCODING "${S}task:$ID"), $(R HLEN "${S}task:$ID") fields)"
echo "  event stream    $stream bytes for $events events"
for idx in index:updated index:finished; do
  echo "  $idx  $(( $(R MEMORY USAGE "$S$idx" SAMPLES 0) / $(R ZCARD "$S$idx") )) bytes per entry ($(R ZCARD "$S$idx") entries)"
done
# MEMORY USAGE of streams (an estimate; the exact split by used_memory follows below)
total_streams=0
for id in $(head -100 "$WORK/ids"); do total_streams=$((total_streams + $(R MEMORY USAGE "${S}task:$id:events" SAMPLES 0))); done
echo "  avg stream      $((total_streams / 100)) bytes (13 events: created, claimed, 10 heartbeats, completed)"
for v in $(seq 1 1000); do echo "XADD ${S}probe * kind progress status running version $v progress $((v % 100))"; done | R >/dev/null
echo "  marginal event  $(( $(R MEMORY USAGE "$S"probe SAMPLES 0) / 1000 )) bytes (a stream of 1000 progress events / 1000: full nodes, no preallocation)"
R DEL "$S"probe >/dev/null
mem1=$(R INFO memory | tr -d '\r' | awk -F: '/^used_memory:/ {print $2}')
# used_memory is exact (allocator sizes), MEMORY USAGE of a stream is an estimate. Split what the N
# finished tasks hold by deleting, in turn, the N task streams (their event history), the shard stream
# (bounded by MAXLEN ~, not per task) and everything else (FLUSHALL: hashes, index entries, expiries).
# The deltas leave out one-off allocations such as the per-command latency histograms.
events=$(sed "s|.*|XLEN ${S}task:&:events|" "$WORK/ids" | R | awk '{s += $1} END {print s}')
sed "s|.*|DEL ${S}task:&:events|" "$WORK/ids" | R >/dev/null
mem2=$(R INFO memory | tr -d '\r' | awk -F: '/^used_memory:/ {print $2}')
shard_entries=$(R XLEN "${S}events")
R DEL "${S}events" >/dev/null
mem3=$(R INFO memory | tr -d '\r' | awk -F: '/^used_memory:/ {print $2}')
R FLUSHALL SYNC >/dev/null
mem4=$(R INFO memory | tr -d '\r' | awk -F: '/^used_memory:/ {print $2}')
echo "  shard stream    $(( (mem2 - mem3) / shard_entries )) bytes per entry ($shard_entries entries, bounded by MAXLEN ~, not per task)"
echo "  finished task   $(( (mem1 - mem2 + mem3 - mem4) / N )) bytes per task, all of it (used_memory)"
echo "  without history $(( (mem3 - mem4) / N )) bytes per task (hash, index entries, expiry: all but its event stream)"
echo "  history         $(( (mem1 - mem2) / N )) bytes per task stream, $(( (mem1 - mem2) / events )) bytes per event ($events events in $N task streams)"
