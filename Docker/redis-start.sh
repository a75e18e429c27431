#!/bin/sh
# Starts redis-server for the taskd stack, in the redis container of Docker/compose.yaml and in
# `./dev stack` alike: writes the users file from Docker/redis-acl/taskd.acl (the least-privilege
# rules, the single source) and the passwords, then execs redis-server with Docker/redis.conf.
#
#   TASKD_REDIS_PASSWORD   taskd's password (required); the users file keeps only its SHA-256
#   REDIS_ADMIN_PASSWORD   when set, a user `admin` that may do everything (for redis-cli); unset,
#                          there is none. The `default` user is always off: no password-less access.
#   REDIS_ACL_FILE         where to write the users file (default /tmp/taskd-users.acl)
#   [ARGS]                 more redis-server options, which override redis.conf
set -eu
here=$(dirname "$0")
: "${TASKD_REDIS_PASSWORD:?set TASKD_REDIS_PASSWORD: the password of the Redis user taskd}"
acl_file=${REDIS_ACL_FILE:-/tmp/taskd-users.acl}
sha() { printf %s "$1" | sha256sum | cut -d' ' -f1; }
umask 077
{
  echo "user default off resetkeys resetchannels -@all"
  # The rules of taskd.acl without comments, on one line; `#<sha256>` is a hashed password.
  echo "user taskd on #$(sha "$TASKD_REDIS_PASSWORD") $(sed 's/#.*//' "$here/redis-acl/taskd.acl" | tr -s ' \t\n' '  ')"
  if [ -n "${REDIS_ADMIN_PASSWORD:-}" ]; then
    echo "user admin on #$(sha "$REDIS_ADMIN_PASSWORD") ~* &* +@all"
  fi
} > "$acl_file"
exec redis-server "$here/redis.conf" --aclfile "$acl_file" "$@"
