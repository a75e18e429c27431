#!/usr/bin/env bash
# Smoke test of the Lua scripts against a throwaway redis-server on a free loopback port:
# a full lifecycle, the main refusals (each checked to change nothing, via DEBUG DIGEST),
# retries, lease expiry, delayed start, priorities, TTLs and retention.
#   Lua/tests/smoke.sh            exits non-zero on the first mismatch
set -euo pipefail
LUA="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d)"
PIDFILE="$WORK/redis.pid"

PORT=""
for candidate in $(seq 16390 16490); do
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then PORT=$candidate; break; fi
done
[[ -n $PORT ]] || { echo "no free port" >&2; exit 1; }
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --enable-debug-command local \
  --daemonize yes --pidfile "$PIDFILE" --dir "$WORK" --logfile "$WORK/redis.log"
cleanup() {
  if [[ -f $PIDFILE ]]; then kill "$(cat "$PIDFILE")" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
for _ in $(seq 50); do redis-cli -p "$PORT" PING >/dev/null 2>&1 && break; sleep 0.1; done

for f in "$LUA"/*.lua; do "$LUA/flatten.sh" "$f" >"$WORK/$(basename "$f")"; done

R() { redis-cli -p "$PORT" "$@"; }
# ev SCRIPT KEYS... , ARGV...   → the reply, elements joined with "|"
ev() { local script=$1; shift; R --eval "$WORK/$script.lua" "$@" | paste -sd'|'; }

FAILURES=0
CHECKS=0
expect() { # description expected actual
  CHECKS=$((CHECKS + 1))
  if [[ $2 == "$3" ]]; then
    printf 'ok    %s\n' "$1"
  else
    printf 'FAIL  %s\n      expected: %s\n      actual:   %s\n' "$1" "$2" "$3"
    FAILURES=$((FAILURES + 1))
  fi
}
expect_match() { # description regex actual
  CHECKS=$((CHECKS + 1))
  if [[ $3 =~ $2 ]]; then
    printf 'ok    %s\n' "$1"
  else
    printf 'FAIL  %s\n      expected /%s/\n      actual:   %s\n' "$1" "$2" "$3"
    FAILURES=$((FAILURES + 1))
  fi
}
digest() { R DEBUG DIGEST; }
# refused DESCRIPTION EXPECTED COMMAND...: the reply matches and the dataset did not change
refused() {
  local description=$1 expected=$2 before after actual
  shift 2
  before=$(digest)
  actual=$("$@")
  after=$(digest)
  expect "$description" "$expected" "$actual"
  expect "$description: nothing written" "$before" "$after"
}

S='taskd:{taskd:0}:'
NOW=$(date +%s%3N)
T() { echo $((NOW + $1)); }   # ms offsets from the pinned start
field() { R HGET "${S}task:$1" "$2"; }

# create ID TYPE OBJECT UNIQUE IDEM PRIORITY MAXATTEMPTS RUNAT RESULTTTL [opIds...]  (at time $AT)
AT=$NOW
create() {
  local id=$1 type=$2
  ev create-10 "${S}task:$id" "${S}task:$id:events" "${S}queue:$type" "${S}delayed" "${S}index:updated" \
    "${S}index:active" "${S}index:object" "${S}unique" "${S}idempotency" "${S}events" , \
    "$AT" "$id" "$type" task "make a $type" '{"size":1}' "$3" "" "$6" "$7" "$8" "$9" "$4" "$5" "" "" "" "${@:10}"
}
# claim TYPE WORKER TOKEN LEASEMS
claim() {
  ev claim-5 "${S}queue:$1" "${S}delayed" "${S}leases" "${S}index:updated" "${S}events" , \
    "$AT" "$S" "$2" "$3" "$4" "" "" ""
}
# heartbeat ID TOKEN LEASEMS PROGRESS STATE DESCRIPTION CANCELLABLE [opId opJson]...
heartbeat() {
  local id=$1
  ev heartbeat-5 "${S}task:$id" "${S}task:$id:events" "${S}leases" "${S}index:updated" "${S}events" , \
    "$AT" "$2" "$3" "$4" "$5" "$6" "$7" "" "" "${@:8}"
}
finish_keys() { # the 7 keys after the task's two that complete/ack share
  echo "${S}leases ${S}index:active ${S}index:updated ${S}index:finished ${S}unique ${S}idempotency ${S}events"
}
complete() { # ID TOKEN RESPONSE
  # shellcheck disable=SC2046
  ev complete-9 "${S}task:$1" "${S}task:$1:events" $(finish_keys) , "$AT" "$2" "$3" "" ""
}
ack() { # ID TOKEN
  # shellcheck disable=SC2046
  ev ack-cancel-9 "${S}task:$1" "${S}task:$1:events" $(finish_keys) , "$AT" "$2" "" ""
}
fail() { # ID TOKEN ERRORCODE RETRYABLE
  ev fail-10 "${S}task:$1" "${S}task:$1:events" "${S}leases" "${S}delayed" "${S}index:active" \
    "${S}index:updated" "${S}index:finished" "${S}unique" "${S}idempotency" "${S}events" , \
    "$AT" "$2" "$3" "it broke" "$4" 1000 60000 "" ""
}
cancel() { # ID TYPE FORCE
  ev cancel-11 "${S}task:$1" "${S}task:$1:events" "${S}queue:$2" "${S}delayed" "${S}leases" "${S}index:active" \
    "${S}index:updated" "${S}index:finished" "${S}unique" "${S}idempotency" "${S}events" , "$AT" "$3" "" ""
}
dismiss() {
  ev dismiss-6 "${S}task:$1" "${S}task:$1:events" "${S}index:updated" "${S}index:finished" "${S}idempotency" \
    "${S}events" , "$AT" "" ""
}
delete() {
  ev delete-7 "${S}task:$1" "${S}task:$1:events" "${S}index:updated" "${S}index:finished" "${S}index:object" \
    "${S}idempotency" "${S}events" , "$AT" ""
}
extend_ttl() { # ID SECONDS
  ev extend-ttl-4 "${S}task:$1" "${S}task:$1:events" "${S}index:finished" "${S}idempotency" , "$AT" "$2"
}
reap() { # GRACEMS
  ev expire-leases-8 "${S}leases" "${S}delayed" "${S}index:active" "${S}index:updated" "${S}index:finished" \
    "${S}unique" "${S}idempotency" "${S}events" , "$AT" "$S" "$1" "" 1000 60000 "" ""
}
promote() { ev promote-delayed-1 "${S}delayed" , "$AT" "$S" ""; }
retention() { ev retention-4 "${S}index:finished" "${S}index:updated" "${S}index:object" "${S}idempotency" , "$AT" ""; }
last_event() { R XREVRANGE "${S}task:$1:events" + - COUNT 1 | tail -n +2 | paste -sd' '; }

echo "== create, idempotency, uniqueness"
expect "create t1" "0|t1|0" "$(create t1 backup bdb:1 u1 i1 0 1 "" 600 1 2)"
expect "t1 is queued" "queued" "$(field t1 status)"
expect "t1 has ops" "{}|{}" "$(R HMGET "${S}task:t1" op:1 op:2 | paste -sd'|')"
expect "created event" "kind created status queued version 1 progress 0" "$(last_event t1)"
refused "same Idempotency-Key returns the first task" "0|t1|1" create t1b backup bdb:1 u1 i1 0 1 "" 600
refused "uniqueKey held by t1" "5|t1" create t2 backup "" u1 "" 0 1 "" 600
refused "existing id" "6|t1" create t1 backup "" "" "" 0 1 "" 600
refused "priority out of range" "7|priority" create t3 backup "" "" "" 5000 1 "" 600
refused "hash key of another id" "7|KEYS[1]" ev create-10 "${S}task:zz" "${S}task:zz:events" "${S}queue:backup" \
  "${S}delayed" "${S}index:updated" "${S}index:active" "${S}index:object" "${S}unique" "${S}idempotency" "${S}events" , \
  "$AT" t9 backup "" "" "" "" "" "" "" "" "" "" "" "" ""
expect "object index" "bdb:1
t1" "$(R ZRANGEBYLEX "${S}index:object" "[bdb:1
" "[bdb:1
$(printf '\xff')")"

echo "== claim, heartbeat, fencing"
refused "heartbeat before claim" "3|queued" heartbeat t1 tok1 30000 10 "" "" ""
expect "claim t1: opIds in create order, opStates \"\" on a first attempt" \
  "0|t1|backup|{\"size\":1}|1 2||1|1|tok1|$(T 30000)|2|" "$(claim backup w1 tok1 30000)"
expect "claimed event" "kind claimed status starting version 2 progress 0 attempt 1 workerId w1" "$(last_event t1)"
refused "claim on empty queue" "8|" claim backup w2 tok2 30000
refused "heartbeat with a wrong token" "3|starting" heartbeat t1 nope 30000 10 "" "" ""
refused "progress out of range" "7|progress" heartbeat t1 tok1 30000 101 "" "" ""
AT=$(T 1000)
expect "first heartbeat → running (with its commandType)" "0|running|3|0|$(T 31000)|backup" \
  "$(heartbeat t1 tok1 30000 25 copying "copying shard 1" "" 1 '{"progress":50,"op_name":"copy"}')"
SEC=$(( $(T 1000) / 1000 ))
expect "op stored with the script's stamp appended" \
  "{\"progress\":50,\"op_name\":\"copy\",\"heartbeat\":$SEC,\"last_sample_time\":$SEC}" "$(field t1 op:1)"
expect "status event" "kind status status running version 3 progress 25 state copying reason heartbeat" "$(last_event t1)"
AT=$(T 2000)
expect "progress heartbeat" "0|running|4|0|$(T 32000)" "$(heartbeat t1 tok1 30000 50 "" "" "")"
expect "progress event" "kind progress status running version 4 progress 50" "$(last_event t1)"
AT=$(T 3000)
expect "pure renewal: no version bump" "0|running|4|0|$(T 33000)" "$(heartbeat t1 tok1 30000 50 copying "" "")"
expect "pure renewal: no event" "4" "$(R XLEN "${S}task:t1:events")"
# A steady renewal leaves the lease set's score behind (never ahead of) the deadline; the reaper
# re-scores the entry when it comes due and the task stays running.
expect "steady renewal leaves the lease score behind the deadline" "$(T 31000)" "$(R ZSCORE "${S}leases" t1)"
SAVED_AT=$AT
AT=$(T 31500)
expect "reaper re-scores a renewed lease, nothing impacted" "0|0|0|0|0|$(T 33000)" "$(reap "")"
expect "lease set now at the deadline" "$(T 33000)" "$(R ZSCORE "${S}leases" t1)"
expect "still running" "running" "$(field t1 status)"
AT=$SAVED_AT

echo "== commit phase, cancel, complete"
expect "worker enters commit phase" "0|running|5|0|$(T 33000)" "$(heartbeat t1 tok1 30000 90 "" "" 0)"
refused "cancel in commit phase → 406" "4|running" cancel t1 backup ""
refused "cancel with the wrong queue key" "7|KEYS[3]" cancel t1 restore ""
AT=$(T 4000)
expect "complete t1 (commandType and startedAt follow)" "0|completed|6|0|backup|$NOW" "$(complete t1 tok1 '{"resourceId":1}')"
expect "completed fields" "completed|100|{\"resourceId\":1}|$(T 4000)|$(T 604000)" \
  "$(R HMGET "${S}task:t1" status progress response endedAt expiresAt | paste -sd'|')"
expect "lease token fenced" "" "$(field t1 leaseToken)"
expect_match "hash TTL ≈ 604 s (600 s from T+4 s)" "^(59[5-9]|60[0-4])$" "$(R TTL "${S}task:t1")"
expect_match "stream TTL ≈ 604 s" "^(59[5-9]|60[0-4])$" "$(R TTL "${S}task:t1:events")"
expect "uniqueKey released" "" "$(R HGET "${S}unique" u1)"
expect "idempotency entry carries the expiry" "t1 $(T 604000)" "$(R HGET "${S}idempotency" i1)"
expect "left index:active and leases" "||" "$(R ZSCORE "${S}index:active" t1)|$(R ZSCORE "${S}leases" t1)|"
expect "finished index member" "$(T 604000)" "$(R ZSCORE "${S}index:finished" "t1
bdb:1
i1")"
refused "complete twice" "3|completed" complete t1 tok1 ""
refused "cancel a finished task → 409" "2|completed" cancel t1 backup ""
refused "dismiss a completed task" "2|completed" dismiss t1
refused "unknown task" "1" complete nope tok1 ""
expect "uniqueKey free again" "0|t2|0" "$(create t2 backup "" u1 "" 0 1 "" 600)"

echo "== cancel paths"
refused "ack a queued task" "3|queued" ack t2 tok1
expect "cancel queued t2 (changed, never started)" "0|cancelled|2|1|" "$(cancel t2 backup "")"
expect "t2 left its queue" "" "$(R ZSCORE "${S}queue:backup" t2)"
expect "cancelled event" "kind status status cancelled version 2 progress 0 reason cancel" "$(last_event t2)"
create t3 backup "" "" "" 0 1 "" 600 >/dev/null
claim backup w1 tok3 30000 >/dev/null
expect "cancel running t3 → cancelling (changed, startedAt)" "0|cancelling|3|1|$(T 4000)" "$(cancel t3 backup "")"
refused "cancel again is idempotent (changed 0)" "0|cancelling|3|0|$(T 4000)" cancel t3 backup ""
expect "heartbeat sees the request" "0|cancelling|4|1|$(T 34000)" "$(heartbeat t3 tok3 30000 60 "" "" "")"
expect "worker that completes while cancelling wins" "0|completed|5|1|backup|$(T 4000)" "$(complete t3 tok3 "")"
create t4 backup "" "" "" 0 1 "" 600 >/dev/null
claim backup w1 tok4 30000 >/dev/null
refused "ack without a cancel request" "2|starting" ack t4 tok4
cancel t4 backup "" >/dev/null
refused "ack with a stale token" "3|cancelling" ack t4 tok3
expect "ack → cancelled" "0|cancelled|4|backup|$(T 4000)" "$(ack t4 tok4)"
create t5 backup "" "" "" 0 1 "" 600 >/dev/null
claim backup w1 tok5 30000 >/dev/null
heartbeat t5 tok5 30000 95 "" "" 0 >/dev/null
expect "force cancel in commit phase (startedAt for the run time)" "0|cancelled|4|1|$(T 4000)" "$(cancel t5 backup 1)"
refused "worker of a force-cancelled task is fenced" "3|cancelled" heartbeat t5 tok5 30000 99 "" "" ""

echo "== fail, retry with backoff, dismiss, delete"
AT=$NOW
create t6 restore bdb:2 "" i6 0 2 "" 600 >/dev/null
claim restore w1 tok6 30000 >/dev/null
expect "fail with attempts left → queued" "0|queued|3|$(T 1000)|restore|$NOW" "$(fail t6 tok6 bdb_busy "")"
expect "retry waits in the delayed set" "$(T 1000)" "$(R ZSCORE "${S}delayed" t6)"
refused "old token fenced after re-queue" "3|queued" heartbeat t6 tok6 30000 10 "" "" ""
refused "claim before the backoff ran out" "8|$(T 1000)" claim restore w2 tok6b 30000
AT=$(T 1000)
expect_match "claim after backoff: attempt 2" "^0\|t6\|restore\|.*\|2\|2\|tok6b\|" "$(claim restore w2 tok6b 30000)"
expect "fail on the last attempt → failed (startedAt stays the first claim's)" "0|failed|5||restore|$NOW" "$(fail t6 tok6b bdb_busy "")"
expect "error stored" "bdb_busy|it broke" "$(R HMGET "${S}task:t6" errorCode errorMessage | paste -sd'|')"
expect "dismiss failed t6" "0|dismissed|6|restore" "$(dismiss t6)"
refused "dismiss twice" "2|dismissed" dismiss t6
expect "delete t6" "0" "$(delete t6)"
expect "t6 keys gone" "0" "$(R EXISTS "${S}task:t6" "${S}task:t6:events")"
expect "t6 index entries gone" "|||" "$(R ZSCORE "${S}index:updated" t6)|$(R ZRANGEBYLEX "${S}index:object" "[bdb:2
" "[bdb:2
$(printf '\xff')")|$(R HGET "${S}idempotency" i6)|"
expect_match "deleted event on the shard stream" "kind deleted" "$(R XREVRANGE "${S}events" + - COUNT 1 | paste -sd' ')"
create t7 restore "" "" "" 0 3 "" 600 >/dev/null
claim restore w1 tok7 30000 >/dev/null
expect "non-retryable failure ends failed" "0|failed|3||restore|$(T 1000)" "$(fail t7 tok7 bad_input 0)"
create t8 restore "" "" "" 0 3 "" 600 >/dev/null
claim restore w1 tok8 30000 >/dev/null
cancel t8 restore "" >/dev/null
expect "fail while cancelling: no retry" "0|failed|4||restore|$(T 1000)" "$(fail t8 tok8 oops "")"
create t8b restore "" "" "" 0 1 "" 600 >/dev/null
refused "delete a queued task" "2|queued" delete t8b
cancel t8b restore "" >/dev/null

echo "== lease expiry"
AT=$NOW
create t9 sync "" "" "" 0 2 "" 600 >/dev/null
claim sync w1 tok9 1000 >/dev/null
AT=$(T 500)
refused "lease not yet due" "0|0|0|0|0|$(T 1000)" reap ""
AT=$(T 1500)
expect "overdue → impacted" "0|1|0|0|0|$(T 2000)" "$(reap "")"
expect "impacted event" "kind status status impacted version 3 progress 0 reason lease-overdue" "$(last_event t9)"
expect "token still valid: heartbeat → running" "0|running|4|0|$(T 2500)|sync" "$(heartbeat t9 tok9 1000 10 "" "" "")"
AT=$(T 2600)
expect "overdue again → impacted" "0|1|0|0|0|$(T 3500)" "$(reap "")"
AT=$(T 3500)
expect "grace over → re-queued" "0|0|1|0|0|" "$(reap "")"
expect "worker_lost recorded" "queued|worker_lost|$(T 4500)" "$(R HMGET "${S}task:t9" status errorCode runAt | paste -sd'|')"
refused "lost worker is fenced" "3|queued" complete t9 tok9 ""
AT=$(T 4500)
claim sync w2 tok9b 1000 >/dev/null
AT=$(T 6500)
expect "last attempt lost → failed worker_lost" "0|0|0|1|0|" "$(reap "")"
expect "failed with worker_lost" "failed|worker_lost" "$(R HMGET "${S}task:t9" status errorCode | paste -sd'|')"
AT=$NOW
create t10 sync "" "" "" 0 3 "" 600 >/dev/null
claim sync w1 tok10 1000 >/dev/null
cancel t10 sync "" >/dev/null
AT=$(T 2000)
expect "cancelling task whose lease is lost ends cancelled" "0|0|0|0|1|" "$(reap "")"
expect "t10 cancelled, never retried" "cancelled|" "$(field t10 status)|$(R ZSCORE "${S}delayed" t10)"

echo "== delayed start and priority"
AT=$NOW
create t11 report "" "" "" 0 1 "$(T 5000)" 600 >/dev/null
expect "delayed task waits" "$(T 5000)" "$(R ZSCORE "${S}delayed" t11)"
refused "claim says when the next one is due" "8|$(T 5000)" claim report w1 tok11 30000
AT=$(T 5000)
expect "promote due task" "0|1|" "$(promote)"
create t12 report "" "" "" 7 1 "" 600 >/dev/null
create t13 report "" "" "" 7 1 "" 600 >/dev/null
expect_match "higher priority first" "^0\|t12\|" "$(claim report w1 tok12 30000)"
expect_match "then FIFO within a priority" "^0\|t13\|" "$(claim report w1 tok13 30000)"
expect_match "then the promoted default-priority task" "^0\|t11\|" "$(claim report w1 tok11 30000)"
AT=$NOW
create t14 report "" "" "" 0 1 "$(T 7000)" 600 >/dev/null
AT=$(T 7000)
expect_match "claim promotes due tasks itself" "^0\|t14\|" "$(claim report w1 tok14 30000)"

echo "== result TTL, X-Result-TTL and retention"
AT=$NOW
expect "extend-ttl on an unfinished task stores resultTtl" "0|" "$(extend_ttl t12 5)"
expect "resultTtl stored" "5" "$(field t12 resultTtl)"
expect "extend-ttl on finished t1" "0|$(T 1000000)" "$(extend_ttl t1 1000)"
expect_match "t1 TTL follows" "^(99[0-9]|1000)$" "$(R TTL "${S}task:t1")"
expect "idempotency expiry follows" "t1 $(T 1000000)" "$(R HGET "${S}idempotency" i1)"
expect "retention removes nothing yet (t7 failed at T+1 s expires first)" "0|0|$(T 601000)" "$(retention)"
# finish t20 with a 1 s result TTL in real time, wait, then clean
AT=$(date +%s%3N)
create t20 backup bdb:9 "" i20 0 1 "" 1 >/dev/null
claim backup w1 tok20 30000 >/dev/null
complete t20 tok20 "" >/dev/null
sleep 1.2
expect "all keys of the expired task are gone" "0" "$(R EXISTS "${S}task:t20" "${S}task:t20:events")"
AT=$(date +%s%3N)
expect_match "retention cleans its entries" "^0\|[1-9][0-9]*\|" "$(retention)"
expect "indexes clean" "|||" "$(R ZSCORE "${S}index:updated" t20)|$(R ZRANGEBYLEX "${S}index:object" "[bdb:9
" "[bdb:9
$(printf '\xff')")|$(R HGET "${S}idempotency" i20)|"
AT=$(date +%s%3N)
expect "expired Idempotency-Key no longer replays" "0|t21|0" "$(create t21 backup "" "" i20 0 1 "" 600)"

echo "== heartbeat lease length"
AT=$NOW
create t30 lease "" "" "" 0 2 "" 600 a b >/dev/null
expect "claim with a 2 s lease" "0|t30|lease|{\"size\":1}|a b||1|2|tok30|$(T 2000)|2|" "$(claim lease w1 tok30 2000)"
AT=$(T 500)
expect "heartbeat without a lease length keeps the claimed 2 s" "0|running|3|0|$(T 2500)|lease" \
  "$(heartbeat t30 tok30 "" 10 "" "" "")"
expect "leaseExpiresAt and the lease set follow" "$(T 2500)|$(T 2500)|2000" \
  "$(field t30 leaseExpiresAt)|$(R ZSCORE "${S}leases" t30)|$(field t30 leaseMs)"
AT=$(T 1000)
expect "a named lease length replaces it" "0|running|4|0|$(T 6000)" "$(heartbeat t30 tok30 5000 20 "" "" "")"
expect "and is stored" "5000" "$(field t30 leaseMs)"
AT=$(T 1500)
expect "the next heartbeat without a length renews by the stored 5 s (pure renewal)" "0|running|4|0|$(T 6500)" \
  "$(heartbeat t30 tok30 "" "" "" "" "")"
refused "leaseMs 0" "7|leaseMs" heartbeat t30 tok30 0 "" "" "" ""
refused "taskEventsMaxLen with a leading zero" "7|taskEventsMaxLen" \
  ev heartbeat-5 "${S}task:t30" "${S}task:t30:events" "${S}leases" "${S}index:updated" "${S}events" , \
  "$AT" tok30 "" 30 "" "" "" 0100 ""
refused "shardEventsMaxLen not a number" "7|shardEventsMaxLen" \
  ev heartbeat-5 "${S}task:t30" "${S}task:t30:events" "${S}leases" "${S}index:updated" "${S}events" , \
  "$AT" tok30 "" 30 "" "" "" "" 1e4

echo "== op stamping"
AT=$(T 2000)
SEC=$(( $(T 2000) / 1000 ))
STAMP="\"heartbeat\":$SEC,\"last_sample_time\":$SEC"
expect "ops {} and {\"progress\":50}" "0|running|5|0|$(T 7000)" \
  "$(heartbeat t30 tok30 "" "" "" "" "" a '{}' b '{"progress":50}')"
expect "{} is stored as the stamp alone" "{$STAMP}" "$(field t30 op:a)"
expect "the stamp is appended last" "{\"progress\":50,$STAMP}" "$(field t30 op:b)"
expect "op event" "kind progress status running version 5 progress 20" "$(last_event t30)"
expect "the same ops in the same second change nothing" "0|running|5|0|$(T 7000)" \
  "$(heartbeat t30 tok30 "" "" "" "" "" a '{}' b '{"progress":50}')"
expect "new op ids are appended to opIds once, in order" "0|running|6|0|$(T 7000)" \
  "$(heartbeat t30 tok30 "" "" "" "" "" c ' { "x" : 1 } ' d '{"heartbeat":1,"last_sample_time":2}' c ' { "x" : 1 } ')"
expect "opIds" "a b c d" "$(field t30 opIds)"
expect "whitespace around the object is dropped" "{ \"x\" : 1 ,$STAMP}" "$(field t30 op:c)"
expect "a caller's own stamp keys stay; the script's come last" \
  "{\"heartbeat\":1,\"last_sample_time\":2,$STAMP}" "$(field t30 op:d)"
AT=$(T 3000)
SEC2=$(( $(T 3000) / 1000 ))
expect "the same op a second later is a change (its stamp moved)" "0|running|7|0|$(T 8000)" \
  "$(heartbeat t30 tok30 "" "" "" "" "" a '{}')"
expect "restamped" "{\"heartbeat\":$SEC2,\"last_sample_time\":$SEC2}" "$(field t30 op:a)"
refused "op JSON that is not an object" "7|op e" heartbeat t30 tok30 "" "" "" "" "" e '[1]'
refused "op JSON with trailing text" "7|op e" heartbeat t30 tok30 "" "" "" "" "" e '{"a":1} x'
refused "op id with whitespace" "7|op id" heartbeat t30 tok30 "" "" "" "" "" "$(printf 'e\tf')" '{}'
refused "op id without JSON" "7|ops" heartbeat t30 tok30 "" "" "" "" "" e
refused "duplicate op id at create" "7|op id" create t33 backup "" "" "" 0 1 "" 600 x y x

echo "== claim of a retried attempt: opStates"
AT=$(T 4000)
expect "retryable failure → queued" "0|queued|8|$(T 5000)|lease|$NOW" "$(fail t30 tok30 busy "")"
AT=$(T 5000)
OPSTATES="{\"a\":$(field t30 op:a),\"b\":$(field t30 op:b),\"c\":$(field t30 op:c),\"d\":$(field t30 op:d)}"
expect "retried attempt: the previous attempt's ops in opIds order" \
  "0|t30|lease|{\"size\":1}|a b c d|$OPSTATES|2|2|tok30b|$(T 7000)|9|" "$(claim lease w2 tok30b 2000)"
expect "startedAt stays the first claim's, attempt 2, progress 0" "$NOW|2|0" \
  "$(R HMGET "${S}task:t30" startedAt attempt progress | paste -sd'|')"
expect "claimed event of the retry" "kind claimed status starting version 9 progress 0 attempt 2 workerId w2" \
  "$(last_event t30)"
complete t30 tok30b "" >/dev/null

echo "== more ops than a batch"
AT=$NOW
create t31 many "" "" "" 0 2 "" 600 >/dev/null
claim many w1 tok31 30000 >/dev/null
ops_args() { local i; for i in $(seq "$1" "$2"); do printf '%s\n%s\n' "op$i" "{\"p\":$i}"; done; }
mapfile -t FIRST < <(ops_args 1 300)
mapfile -t SECOND < <(ops_args 301 600)
expect "a heartbeat with 300 new ops" "0|running|3|0|$(T 30000)|many" "$(heartbeat t31 tok31 "" 1 "" "" "" "${FIRST[@]}")"
expect "a heartbeat with 300 more" "0|running|4|0|$(T 30000)" "$(heartbeat t31 tok31 "" 2 "" "" "" "${SECOND[@]}")"
expect "600 op ids in order" "600 op1 op600" \
  "$(field t31 opIds | awk '{print NF, $1, $NF}')"
expect "op 600 stored" "{\"p\":600,$(printf '"heartbeat":%d,"last_sample_time":%d' $((NOW / 1000)) $((NOW / 1000)))}" \
  "$(field t31 op:op600)"
expect_match "retryable failure → queued" "^0\|queued\|" "$(fail t31 tok31 busy "")"
AT=$(T 1000)
REPLY=$(claim many w2 tok31b 30000)
expect_match "claim after the retry" "^0\|t31\|many\|" "$REPLY"
expect "opStates: all 600 ops, in order, as stored" "600 op1 op600 ok" "$(printf '%s' "$REPLY" | cut -d'|' -f6 | python3 -c '
import json, sys
states = json.loads(sys.stdin.read())
keys = list(states)
ok = keys == ["op%d" % i for i in range(1, 601)] and all(states[k]["p"] == int(k[2:]) for k in keys)
print(len(keys), keys[0], keys[-1], "ok" if ok else "mismatch")')"
create t34 many "" "" "" 0 1 "" 600 $(seq -f 'c%g' 1 600) >/dev/null
expect "create with 600 op ids" "600|{}|{}" "$(field t34 opIds | wc -w)|$(field t34 op:c1)|$(field t34 op:c600)"

echo "== a task has at most 1,024 ops (include/opLimit)"
refused "create with 1,025 op ids" "9|1025" create t60 cap "" "" "" 0 1 "" 600 $(seq -f 'o%g' 1 1025)
expect "create with 1,024 op ids" "0|t60|0" "$(create t60 cap "" "" "" 0 1 "" 600 $(seq -f 'o%g' 1 1024))"
claim cap w1 tok60 30000 >/dev/null
refused "a heartbeat adding a 1,025th op" "9|1025" heartbeat t60 tok60 30000 10 "" "" "" o1 '{}' extra '{}'
expect "a heartbeat on the existing ops" "0|running" "$(heartbeat t60 tok60 30000 10 "" "" "" o1 '{}' o1024 '{}' | cut -d'|' -f1-2)"
create t61 cap "" "" "" 0 1 "" 600 $(seq -f 'p%g' 1 1000) >/dev/null
claim cap w1 tok61 30000 >/dev/null
# shellcheck disable=SC2046
refused "a heartbeat adding 25 new ops to 1,000" "9|1025" heartbeat t61 tok61 30000 10 "" "" "" \
  $(for i in $(seq 1 25); do printf 'q%d {} ' "$i"; done)
# shellcheck disable=SC2046
expect "a heartbeat adding 24 new ops to 1,000" "0|running" "$(heartbeat t61 tok61 30000 10 "" "" "" \
  $(for i in $(seq 1 24); do printf 'q%d {} ' "$i"; done) | cut -d'|' -f1-2)"
expect "t61 has 1,024 ops" "1024" "$(field t61 opIds | wc -w)"

echo "== task stream trimming starts only once version exceeds taskEventsMaxLen"
R CONFIG SET stream-node-max-entries 5 >/dev/null
AT=$NOW
create t35 trim "" "" "" 0 1 "" 600 >/dev/null
claim trim w1 tok35 30000 >/dev/null
beat() { ev heartbeat-5 "${S}task:t35" "${S}task:t35:events" "${S}leases" "${S}index:updated" "${S}events" , \
  "$AT" tok35 "" "$1" "" "" "" 10 ""; }
for p in 1 2 3 4 5 6 7 8; do beat $p >/dev/null; done
expect "version 10, nothing trimmed" "10|10" "$(field t35 version)|$(R XLEN "${S}task:t35:events")"
for p in 9 10 11 12 13 14 15 16 17 18 19 20; do beat $p >/dev/null; done
expect_match "version 22: trimmed to whole nodes of 5 (10 to 14 entries)" "^22\|1[0-4]$" \
  "$(field t35 version)|$(R XLEN "${S}task:t35:events")"
R CONFIG SET stream-node-max-entries 100 >/dev/null

echo "== traceparent: stored at create, handed to the claim"
TP=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
create_traced() { # ID TRACEPARENT
  ev create-10 "${S}task:$1" "${S}task:$1:events" "${S}queue:traced" "${S}delayed" "${S}index:updated" \
    "${S}index:active" "${S}index:object" "${S}unique" "${S}idempotency" "${S}events" , \
    "$AT" "$1" traced task "" "" "" "" "" "" "" "" "" "" "" "" "$2" op1
}
refused "a traceparent with spaces" "7|traceparent" create_traced t40 "00 4bf9"
expect "create with a traceparent" "0|t40|0" "$(create_traced t40 "$TP")"
expect "stored with the task, ops after it" "$TP|op1" "$(field t40 traceparent)|$(field t40 opIds)"
expect_match "claim hands it over" "^0\|t40\|traced\|.*\|$TP$" "$(claim traced w1 tok40 30000)"

echo "== every key carries the shard's hash tag"
expect "keys outside {taskd:0}" "" "$(R --scan --pattern '*' | grep -v '^taskd:{taskd:0}:' || true)"

echo
echo "$CHECKS checks, $FAILURES failed"
[[ $FAILURES -eq 0 ]]
