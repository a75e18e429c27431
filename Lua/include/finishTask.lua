-- @include "emitEvent"
-- @include "applyRetention"
-- @include "nextVersion"
-- Moves a task into terminal `status`: writes the hash (plus `fields`, a flat list), fences the lease
-- (leaseToken set to "", which no call can present), leaves the lease set and index:active, frees
-- its uniqueKey, writes a `status` event (with `extra`) and starts its result TTL. `c` holds now (string of digits), nowMs (number), the key names and the
-- stream lengths of the script; `task` holds id, status, version, progress, objectName,
-- uniqueKey, idempotencyKey and resultTtl. Returns the new version (number).
local function finishTask(c, task, status, fields, extra)
  local expiresAt = string.format('%d', c.nowMs + tonumber(task.resultTtl or '500') * 1000)
  task.status = status
  local version = nextVersion(task)
  redis.call('HSET', c.hash, 'status', status, 'updatedAt', c.now, 'endedAt', c.now,
    'expiresAt', expiresAt, 'version', task.version, 'leaseToken', '', unpack(fields))
  redis.call('ZREM', c.leases, task.id)
  redis.call('ZREM', c.active, task.id)
  redis.call('ZADD', c.updated, c.now, task.id)
  if task.uniqueKey and redis.call('HGET', c.unique, task.uniqueKey) == task.id then
    redis.call('HDEL', c.unique, task.uniqueKey)
  end
  emitEvent(c.stream, c.events, c.taskMaxLen, c.shardMaxLen, task, 'status', extra)
  applyRetention(c.hash, c.stream, c.finished, c.idempotency, task, expiresAt)
  return version
end
