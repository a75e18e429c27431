-- @include "emitEvent"
-- @include "nextVersion"
-- Puts a leased task back to `queued` for a new attempt at `retryAt` (ms, number) via the delayed set:
-- fences the lease (token, expiry and worker cleared), resets progress and the commit phase (the
-- next attempt starts cancellable: its worker has declared nothing yet), writes `fields` (a flat list)
-- and a `status` event with reason `reason`. `c` holds now, nowMs, the key names and the stream
-- lengths. Returns the new version (number).
local function requeueTask(c, task, retryAt, fields, reason)
  local at = string.format('%d', retryAt)
  task.status = 'queued'
  task.progress = '0'
  local version = nextVersion(task)
  redis.call('HSET', c.hash, 'status', 'queued', 'progress', '0', 'runAt', at, 'updatedAt', c.now,
    'version', task.version, unpack(fields))
  redis.call('HDEL', c.hash, 'leaseToken', 'leaseExpiresAt', 'leaseMs', 'workerId', 'cancellable')
  redis.call('ZREM', c.leases, task.id)
  redis.call('ZADD', c.delayed, at, task.id)
  redis.call('ZADD', c.updated, c.now, task.id)
  emitEvent(c.stream, c.events, c.taskMaxLen, c.shardMaxLen, task, 'status', {'reason', reason, 'retryAt', at})
  return version
end
