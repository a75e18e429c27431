-- @include "emitEvent"
-- @include "applyRetention"
-- @include "nextVersion"
-- @include "isLeased"
-- @include "resultTtlOf"
-- @include "progressOf"
-- Moves a task into terminal `status`: writes the hash (plus `fields`, a flat list), fences the lease
-- (leaseToken set to "", which no call can present), leaves the lease set (when it was leased) and
-- index:active, frees its uniqueKey, writes a `status` event (extras `...`, field/value pairs) and
-- starts its result TTL. Everything is computed before the first write. Returns the new version.
--   k     the keys in complete-9's KEYS order: hash, stream, leases, index:active, index:updated,
--         index:finished, unique, idempotency, shard events (complete-9 and ack-cancel-9 pass KEYS)
--   c     the script's call: now (digits), nowMs (number), taskMaxLen, shardMaxLen (see streamLimits)
--   id    the task id; progress the progress after the change (digits; false = absent)
--   f     the task's fields as read, in the finish layout: f[1] status (before the change),
--         f[2] version, f[3] objectName, f[4] uniqueKey, f[5] idempotencyKey, f[6] resultTtl
-- Positional tables rather than named fields: a table constructor with named fields costs about
-- 0.4 µs per field in Redis 7.0's Lua, and a finish ran two of them.
local function finishTask(k, c, id, f, progress, status, fields, ...)
  local expiresAt = string.format('%d', c[2] + resultTtlOf(f[6]) * 1000)
  local version, versionText = nextVersion(f[2])
  redis.call('HSET', k[1], 'status', status, 'version', versionText, 'updatedAt', c[1], 'endedAt', c[1],
    'expiresAt', expiresAt, 'leaseToken', '', unpack(fields))
  if isLeased(f[1]) then redis.call('ZREM', k[3], id) end
  redis.call('ZREM', k[4], id)
  redis.call('ZADD', k[5], c[1], id)
  if f[4] and redis.call('HGET', k[7], f[4]) == id then redis.call('HDEL', k[7], f[4]) end
  emitEvent(k[2], k[9], c[3], c[4], id, 'status', status, versionText, progressOf(progress), ...)
  applyRetention(k[1], k[2], k[6], k[8], id, f[3], f[5], expiresAt)
  return version
end
