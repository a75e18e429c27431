#!/usr/bin/env bash
# Makes, without a registry, the two base images Docker/Dockerfile starts FROM, for a local
# `podman build` on a machine that can reach Debian's archive but no container registry:
#
#   docker.io/library/debian:bookworm-slim   Debian 12 from Debian's archive (mmdebstrap, variant
#                                            apt, documentation left out as the slim image does)
#   docker.io/library/swift:6.3-bookworm     the same Debian with the packages the official swift
#                                            image has, the toolchain of this machine ($SWIFT_ROOT,
#                                            default /opt/swift) copied into /usr, and a git setting
#                                            that reads github.com from /opt/swift-packages (the
#                                            local package mirror, bind-mounted by the build: see
#                                            Docker/local-build.sh)
#
# They are stand-ins, tagged with the official names so that the Dockerfile needs no change; a real
# Docker build pulls the official images instead. Needs root, mmdebstrap and podman.
#   Docker/local-base-images.sh [STATE_DIR]     (default .dev/base-images)
set -euo pipefail
cd "$(dirname "$0")/.."
STATE=${1:-.dev/base-images}
SWIFT_ROOT=${SWIFT_ROOT:-/opt/swift}
RUNTIME_TAG=docker.io/library/debian:bookworm-slim
BUILDER_TAG=docker.io/library/swift:6.3-bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

log() { printf '\033[1mbase-images:\033[0m %s\n' "$*" >&2; }
mkdir -p "$STATE"

# What debian:bookworm-slim leaves out (its dpkg path excludes, kept in the image as mmdebstrap's
# dpkg.cfg.d/99mmdebstrap), so the stand-in is as small.
SLIM_DPKG=(--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias')

# The packages the official swift:*-bookworm image installs beside the toolchain.
SWIFT_DEPENDENCIES=binutils,git,gnupg2,libc6-dev,libcurl4-openssl-dev,libedit2,libgcc-12-dev,libpython3-dev,libsqlite3-0,libstdc++-12-dev,libxml2-dev,libncurses-dev,libz3-dev,pkg-config,tzdata,zlib1g-dev,unzip,ca-certificates

make_rootfs() { # DIR [mmdebstrap options…]
  local dir=$1; shift
  rm -rf "$dir"
  mmdebstrap --variant=apt --mode=root "${SLIM_DPKG[@]}" \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    "$@" bookworm "$dir" "$MIRROR"
}

if podman image exists "$RUNTIME_TAG"; then
  log "$RUNTIME_TAG exists"
else
  log "making $RUNTIME_TAG with mmdebstrap"
  make_rootfs "$STATE/runtime"
  tar -C "$STATE/runtime" -c . | podman import --change 'CMD ["bash"]' - "$RUNTIME_TAG"
  rm -rf "$STATE/runtime"
fi

if podman image exists "$BUILDER_TAG"; then
  log "$BUILDER_TAG exists"
else
  log "making $BUILDER_TAG: Debian, the swift image's packages, the toolchain from $SWIFT_ROOT"
  make_rootfs "$STATE/builder" --include="$SWIFT_DEPENDENCIES"
  cp -a "$SWIFT_ROOT/usr/." "$STATE/builder/usr/"
  # github.com from the local mirror, which the build bind-mounts at the same path.
  printf '[url "/opt/swift-packages/"]\n\tinsteadOf = https://github.com/\n\tinsteadOf = git@github.com:\n' \
    > "$STATE/builder/etc/gitconfig"
  printf '[safe]\n\tdirectory = *\n' >> "$STATE/builder/etc/gitconfig"
  tar -C "$STATE/builder" -c . | podman import --change 'CMD ["bash"]' - "$BUILDER_TAG"
  rm -rf "$STATE/builder"
fi
podman images --filter reference=debian --filter reference=swift
