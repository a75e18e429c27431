#!/usr/bin/env bash
# A throwaway Redis Sentinel setup on loopback ports, for tests and benchmarks.
#   source Tests/Sentinel/redis-sentinel.sh
#   sentinel_start DIR [extra redis-server args…]
#       starts one master and one replica (redis-server) and three sentinels (`redis-server --sentinel`,
#       what Debian's redis-sentinel package runs; quorum 2, down-after 1 s, failover-timeout 3 s)
#       on free ports, waits until every sentinel knows the master, the replica and the other
#       sentinels and the replica is in sync; sets SENTINEL_URL (redis+sentinel://…/SENTINEL_SERVICE),
#       SENTINEL_REDIS_PORTS and SENTINEL_PORTS (arrays).
#   sentinel_stop   stops exactly the servers started here, and those restarted from DIR's config
#       files (the failover test restarts a killed master as a replica), by the PIDs in their pid files.
# Every server has its config file at DIR/redis-PORT/redis.conf (pid file DIR/redis-PORT/redis.pid),
# every sentinel at DIR/sentinel-PORT/sentinel.conf; the sentinels rewrite theirs.

SENTINEL_SERVICE=${SENTINEL_SERVICE:-taskd-test}
SENTINEL_DOWN_AFTER_MS=${SENTINEL_DOWN_AFTER_MS:-1000}
SENTINEL_FAILOVER_TIMEOUT_MS=${SENTINEL_FAILOVER_TIMEOUT_MS:-3000}
SENTINEL_DIR=""
SENTINEL_URL=""
SENTINEL_REDIS_PORTS=()
SENTINEL_PORTS=()

sentinel_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# sentinel_spawn CONFIG [args…]: one redis-server in the background, not a job of this shell
# (a test SIGKILLs the master, and bash would report it as "Killed").
sentinel_spawn() {
  redis-server "$@" &
  disown "$!"
}

sentinel_start() {
  local dir=$1 port i
  shift
  rm -rf "$dir" && mkdir -p "$dir"
  SENTINEL_DIR=$dir
  SENTINEL_REDIS_PORTS=() SENTINEL_PORTS=()
  for i in 1 2; do
    port=$(sentinel_free_port)
    mkdir -p "$dir/redis-$port"
    {
      echo "bind 127.0.0.1"
      echo "port $port"
      echo "dir $dir/redis-$port"
      echo "pidfile $dir/redis-$port/redis.pid"
      echo "logfile $dir/redis-$port/redis.log"
      echo "save \"\""
      echo "appendonly no"
      echo "repl-diskless-sync-delay 0"
      # As the README asks of operators: on every data node, so a promoted replica publishes too.
      echo "notify-keyspace-events Kt"
      [ "$i" -eq 2 ] && echo "replicaof 127.0.0.1 ${SENTINEL_REDIS_PORTS[0]}"
    } > "$dir/redis-$port/redis.conf"
    sentinel_spawn "$dir/redis-$port/redis.conf" "$@"
    SENTINEL_REDIS_PORTS+=("$port")
  done
  for port in "${SENTINEL_REDIS_PORTS[@]}"; do
    for _ in $(seq 1 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
    redis-cli -p "$port" ping >/dev/null 2>&1 || { echo "redis-server $port did not start; see $dir/redis-$port/redis.log" >&2; return 1; }
  done
  for i in 1 2 3; do
    port=$(sentinel_free_port)
    mkdir -p "$dir/sentinel-$port"
    cat > "$dir/sentinel-$port/sentinel.conf" <<EOF
bind 127.0.0.1
port $port
dir $dir/sentinel-$port
pidfile $dir/sentinel-$port/sentinel.pid
logfile $dir/sentinel-$port/sentinel.log
sentinel monitor $SENTINEL_SERVICE 127.0.0.1 ${SENTINEL_REDIS_PORTS[0]} 2
sentinel down-after-milliseconds $SENTINEL_SERVICE $SENTINEL_DOWN_AFTER_MS
sentinel failover-timeout $SENTINEL_SERVICE $SENTINEL_FAILOVER_TIMEOUT_MS
sentinel parallel-syncs $SENTINEL_SERVICE 1
EOF
    sentinel_spawn "$dir/sentinel-$port/sentinel.conf" --sentinel
    SENTINEL_PORTS+=("$port")
  done
  SENTINEL_URL="redis+sentinel://"
  local sep=""
  for port in "${SENTINEL_PORTS[@]}"; do SENTINEL_URL+="${sep}127.0.0.1:$port"; sep=","; done
  SENTINEL_URL+="/$SENTINEL_SERVICE"
  # Sentinels read each server's INFO every 10 s; the failover test restores a restarted replica's
  # priority and waits until every sentinel has seen it: once a second keeps that wait short.
  for port in "${SENTINEL_PORTS[@]}"; do redis-cli -p "$port" sentinel debug info-period 1000 >/dev/null; done
  sentinel_wait_ready 30 || { echo "the sentinels did not settle; see $dir/*/sentinel.log" >&2; return 1; }
}

# sentinel_wait_ready SECONDS: every sentinel names the master, knows a replica and both other
# sentinels, and the replica's link to the master is up.
sentinel_wait_ready() {
  local deadline=$((SECONDS + $1)) port ok
  while [ $SECONDS -lt $deadline ]; do
    ok=1
    for port in "${SENTINEL_PORTS[@]}"; do
      redis-cli -p "$port" sentinel get-master-addr-by-name "$SENTINEL_SERVICE" 2>/dev/null | grep -q . || { ok=""; break; }
      [ "$(redis-cli -p "$port" sentinel replicas "$SENTINEL_SERVICE" 2>/dev/null | grep -c '^name$')" -ge 1 ] || { ok=""; break; }
      [ "$(redis-cli -p "$port" sentinel sentinels "$SENTINEL_SERVICE" 2>/dev/null | grep -c '^name$')" -ge 2 ] || { ok=""; break; }
    done
    if [ -n "$ok" ] && redis-cli -p "${SENTINEL_REDIS_PORTS[1]}" info replication 2>/dev/null | grep -q '^master_link_status:up'; then
      return 0
    fi
    sleep 0.2
  done
  return 1
}

# Stops what runs from SENTINEL_DIR's pid files: only a PID whose command line is a redis-server
# (or sentinel) on that file's port, so a stale pid file of a killed server cannot hit another process.
sentinel_stop() {
  [ -n "$SENTINEL_DIR" ] || return 0
  local file pid port pids=()
  for file in "$SENTINEL_DIR"/redis-*/redis.pid "$SENTINEL_DIR"/sentinel-*/sentinel.pid; do
    [ -f "$file" ] || continue
    pid=$(cat "$file" 2>/dev/null) || continue
    port=$(basename "$(dirname "$file")"); port=${port#*-}
    if ps -o args= -p "$pid" 2>/dev/null | grep -q "redis-server.*:$port"; then
      kill "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  # Disowned, so not `wait`able: poll (at most 3 s each) until they are gone. A server the
  # failover test restarted inherited the test process's blocked SIGTERM: SIGKILL it then.
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      kill -9 "$pid" 2>/dev/null || true
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
  done
  SENTINEL_DIR=""
}
