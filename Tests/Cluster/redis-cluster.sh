#!/usr/bin/env bash
# A throwaway Redis Cluster on loopback ports, for tests and benchmarks.
#   source Tests/Cluster/redis-cluster.sh
#   cluster_start DIR MASTERS REPLICAS_PER_MASTER [extra redis-server args…]
#       starts MASTERS × (1 + REPLICAS) redis-servers on free ports, joins them with
#       `redis-cli --cluster create`, waits until every node says cluster_state:ok; sets
#       CLUSTER_PORTS (array), CLUSTER_PIDS (array) and CLUSTER_URL (comma-separated seed URLs).
#   cluster_stop   stops exactly the servers cluster_start started.
# Node timeout 2 s, so a failover in the tests takes seconds, not the default 15 s.
# With CLUSTER_TLS_DIR set (holding ca.crt, server.crt, server.key), every node speaks TLS only —
# clients, cluster bus and replication — and CLUSTER_URL uses rediss://.

CLUSTER_PORTS=()
CLUSTER_PIDS=()
CLUSTER_URL=""
CLUSTER_NODE_TIMEOUT_MS=${CLUSTER_NODE_TIMEOUT_MS:-2000}
CLUSTER_TLS_DIR=${CLUSTER_TLS_DIR:-}

# redis-cli with TLS when the cluster uses it.
cluster_cli() {
  if [ -n "$CLUSTER_TLS_DIR" ]; then
    redis-cli --tls --cacert "$CLUSTER_TLS_DIR/ca.crt" "$@"
  else
    redis-cli "$@"
  fi
}

cluster_free_port() {
  # A port p with p + 10000 free too: the cluster bus listens there.
  python3 - <<'PY'
import socket
for _ in range(200):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    if p + 10000 > 65535: continue
    b = socket.socket()
    try:
        b.bind(("127.0.0.1", p + 10000)); b.close(); print(p); break
    except OSError:
        b.close()
PY
}

cluster_start() {
  local dir=$1 masters=$2 replicas=$3
  shift 3
  local count=$((masters * (1 + replicas))) i port
  rm -rf "$dir" && mkdir -p "$dir"
  CLUSTER_PORTS=() CLUSTER_PIDS=()
  for i in $(seq 1 "$count"); do
    port=$(cluster_free_port)
    mkdir -p "$dir/$port"
    local listen=(--port "$port")
    if [ -n "$CLUSTER_TLS_DIR" ]; then
      listen=(--port 0 --tls-port "$port" --tls-cluster yes --tls-replication yes
        --tls-cert-file "$CLUSTER_TLS_DIR/server.crt" --tls-key-file "$CLUSTER_TLS_DIR/server.key"
        --tls-ca-cert-file "$CLUSTER_TLS_DIR/ca.crt" --tls-auth-clients no)
    fi
    redis-server --bind 127.0.0.1 "${listen[@]}" --dir "$dir/$port" --save '' --appendonly no \
      --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout "$CLUSTER_NODE_TIMEOUT_MS" \
      --repl-diskless-sync-delay 0 --logfile "$dir/$port/redis.log" --daemonize no "$@" &
    CLUSTER_PIDS+=("$!")
    # Not a job of this shell: the failover test SIGKILLs a node, and bash would report it as "Killed".
    disown "$!"
    CLUSTER_PORTS+=("$port")
  done
  for port in "${CLUSTER_PORTS[@]}"; do
    for _ in $(seq 1 100); do cluster_cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
    cluster_cli -p "$port" ping >/dev/null 2>&1 || { echo "cluster node $port did not start; see $dir/$port/redis.log" >&2; return 1; }
  done
  local nodes=()
  for port in "${CLUSTER_PORTS[@]}"; do nodes+=("127.0.0.1:$port"); done
  cluster_cli --cluster create "${nodes[@]}" --cluster-replicas "$replicas" --cluster-yes > "$dir/create.log" 2>&1 \
    || { cat "$dir/create.log" >&2; return 1; }
  cluster_wait_ok 30 || { echo "cluster did not reach cluster_state:ok" >&2; return 1; }
  CLUSTER_URL=""
  local scheme=redis
  [ -n "$CLUSTER_TLS_DIR" ] && scheme=rediss
  for port in "${CLUSTER_PORTS[@]:0:$masters}"; do CLUSTER_URL+="${CLUSTER_URL:+,}$scheme://127.0.0.1:$port"; done
}

# cluster_wait_ok SECONDS: every running node says cluster_state:ok and agrees on all 16384 slots,
# and every replica has finished its first sync (a failover needs a replica with data).
cluster_wait_ok() {
  local deadline=$((SECONDS + $1)) port ok
  while [ $SECONDS -lt $deadline ]; do
    ok=1
    for port in "${CLUSTER_PORTS[@]}"; do
      cluster_cli -p "$port" ping >/dev/null 2>&1 || continue
      cluster_cli -p "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || { ok=""; break; }
      if cluster_cli -p "$port" info replication 2>/dev/null | grep -q '^role:slave'; then
        cluster_cli -p "$port" info replication 2>/dev/null | grep -q '^master_link_status:up' || { ok=""; break; }
      fi
    done
    if [ -n "$ok" ] && cluster_cli --cluster check "127.0.0.1:${CLUSTER_PORTS[0]}" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  return 1
}

cluster_stop() {
  local pid
  for pid in "${CLUSTER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  # Disowned, so not `wait`able: poll (at most 5 s each) until they are gone.
  for pid in "${CLUSTER_PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
  CLUSTER_PIDS=()
}
