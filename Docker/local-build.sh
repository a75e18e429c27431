#!/usr/bin/env bash
# Builds Docker/Dockerfile with podman where no registry and no GitHub are reachable, then checks
# the image without running a container (podman run needs cgroups that some machines refuse):
#
#   Docker/local-build.sh build     base images (Docker/local-base-images.sh), then the image
#   Docker/local-build.sh verify    mount the image, run its binaries in a chroot against a
#                                   loopback redis-server: --help, taskd ready, the health
#                                   check, a task run to completed by the demo worker
#   Docker/local-build.sh           both
#
# The Dockerfile is the one a real `docker build` uses: the base images are local stand-ins with
# the official names, the builder's git configuration reads github.com from /opt/swift-packages,
# and the build bind-mounts that mirror. Needs root, podman, mmdebstrap, redis-server, curl.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
STATE="$ROOT/.dev/image"
IMAGE=${IMAGE:-localhost/taskd:local}
log() { printf '\033[1mlocal-build:\033[0m %s\n' "$*" >&2; }
mkdir -p "$STATE"

build() {
  Docker/local-base-images.sh "$ROOT/.dev/base-images"
  log "podman build (chroot isolation, release build: ~10 minutes of both cores)"
  # --format docker: the OCI format has no HEALTHCHECK (podman drops it with a warning).
  nice -n 19 podman build --isolation chroot --pull=never --format docker \
    -v /opt/swift-packages:/opt/swift-packages:ro \
    -f Docker/Dockerfile -t "$IMAGE" .
}

PIDS=()
MOUNTED=""
cleanup() {
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    kill -TERM "${PIDS[i]}" 2>/dev/null && wait "${PIDS[i]}" 2>/dev/null || true
  done
  if [ -n "$MOUNTED" ]; then
    umount "$MOUNTED/proc" 2>/dev/null || true
    umount "$MOUNTED/dev" 2>/dev/null || true
    podman image unmount "$IMAGE" >/dev/null || true
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Runs a command of the image as its user (taskd, uid 10001) with its environment.
in_image() {
  chroot --userspec=10001:10001 "$MOUNTED" /usr/bin/env -i HOME=/nonexistent \
    PATH=/opt/taskd/bin:/usr/local/bin:/usr/bin:/bin TASKD_HOST=0.0.0.0 "$@"
}

verify() {
  trap cleanup EXIT
  log "image config"
  podman image inspect "$IMAGE" --format \
    'User={{.Config.User}} Cmd={{.Config.Cmd}} Entrypoint={{.Config.Entrypoint}} Healthcheck={{.Config.Healthcheck}} Size={{.Size}}' >&2
  podman image inspect "$IMAGE" --format '{{range .Config.Env}}{{println .}}{{end}}' >&2
  if [ "$(podman image inspect "$IMAGE" --format '{{.Config.Healthcheck}}')" = "<nil>" ]; then
    log "FAIL: the image has no HEALTHCHECK (built in the OCI format?)"; exit 1
  fi
  MOUNTED=$(podman image mount "$IMAGE")
  log "mounted at $MOUNTED"
  ls -la "$MOUNTED/opt/taskd/bin" >&2
  grep PRETTY_NAME "$MOUNTED/etc/os-release" >&2
  # Shared libraries, resolved inside the image: no libswift*.so (static stdlib), hiredis from Debian.
  chroot "$MOUNTED" /usr/bin/ldd /opt/taskd/bin/taskd | tee "$STATE/ldd-taskd.txt" >&2
  if grep -q 'not found' "$STATE/ldd-taskd.txt"; then log "FAIL: a library is missing"; exit 1; fi
  if grep -q 'libswift\|libFoundation' "$STATE/ldd-taskd.txt"; then log "note: Swift libraries are linked dynamically"; fi
  chroot "$MOUNTED" dpkg-query -W -f='${Package} ${Version}\n' libhiredis0.14 ca-certificates >&2
  chroot "$MOUNTED" getent passwd taskd >&2
  mount --bind /proc "$MOUNTED/proc"
  mount --bind /dev "$MOUNTED/dev"
  in_image taskd --help > "$STATE/taskd-help.txt" && head -3 "$STATE/taskd-help.txt" >&2
  in_image taskd-demo-worker --help > "$STATE/worker-help.txt" && head -3 "$STATE/worker-help.txt" >&2

  local redis_port port secret
  redis_port=$(free_port); port=$(free_port); secret=$(openssl rand -hex 24)
  rm -rf "$STATE/redis" && mkdir -p "$STATE/redis"
  TASKD_REDIS_PASSWORD=imagecheck REDIS_ACL_FILE="$STATE/users.acl" sh Docker/redis-start.sh \
    --bind 127.0.0.1 --port "$redis_port" --dir "$STATE/redis" --logfile "$STATE/redis.log" &
  PIDS+=($!)
  sleep 1
  local redis_url="redis://taskd:imagecheck@127.0.0.1:$redis_port"
  in_image TASKD_REDIS_URL="$redis_url" TASKD_PORT="$port" TASKD_ADMIN_KEY=admin TASKD_ADMIN_SECRET="$secret" \
    taskd > "$STATE/taskd.log" 2>&1 &
  PIDS+=($!)
  in_image TASKD_REDIS_URL="$redis_url" TASKD_DEMO_STEP_MS=20 taskd-demo-worker > "$STATE/worker.log" 2>&1 &
  PIDS+=($!)
  local ready=""
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && { ready=1; break; }
    sleep 0.2
  done
  [ -n "$ready" ] || { log "FAIL: taskd from the image did not become ready"; tail -20 "$STATE/taskd.log" >&2; exit 1; }
  log "taskd from the image is ready on 127.0.0.1:$port: $(curl -fsS "http://127.0.0.1:$port/health/ready")"
  in_image TASKD_PORT="$port" taskd-healthcheck && log "the image's HEALTHCHECK command passes"
  local id status=""
  id=$(curl -fsS -u "admin:$secret" -X POST "http://127.0.0.1:$port/v1/tasks" -H 'content-type: application/json' \
    -d '{"commandType":"backup","ops":["1"],"maxAttempts":3}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["taskId"])')
  for _ in $(seq 1 100); do
    status=$(curl -fsS -u "admin:$secret" "http://127.0.0.1:$port/v1/tasks/$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["lifecycleStatus"])')
    case "$status" in completed|failed) break ;; esac
    sleep 0.2
  done
  [ "$status" = completed ] || { log "FAIL: task $id is $status"; tail -20 "$STATE/worker.log" >&2; exit 1; }
  log "task $id, run by the image's demo worker: $status"
  log "PASS: the image's binaries start, serve, pass the health check and run a task"
}

case "${1:-all}" in
  build) build ;;
  verify) verify ;;
  all) build; verify ;;
  *) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
