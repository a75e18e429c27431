-- @include "emitEvent"
-- @include "nextVersion"
-- Puts a leased task back to `queued` for a new attempt at `retryAt` (ms, number) via the delayed set:
-- fences the lease (token, expiry and worker cleared), resets progress (a queued task always has
-- progress 0: claim relies on it) and the commit phase (the next attempt starts cancellable: its
-- worker has declared nothing yet), writes `fields` (a flat list) and a `status` event with reason
-- `reason`. Returns the new version (number).
--   k        the keys in fail-10's KEYS order: hash, stream, leases, delayed, (index:active),
--            index:updated, ... , shard events at k[10] (fail-10 passes KEYS)
--   c        now (digits), nowMs, taskMaxLen, shardMaxLen, as for finishTask
--   version  the stored version (digits)
local function requeueTask(k, c, id, version, retryAt, fields, reason)
  local at = string.format('%d', retryAt)
  local number, versionText = nextVersion(version)
  redis.call('HSET', k[1], 'status', 'queued', 'version', versionText, 'progress', '0', 'updatedAt', c[1],
    'runAt', at, unpack(fields))
  redis.call('HDEL', k[1], 'leaseToken', 'leaseExpiresAt', 'leaseMs', 'workerId', 'cancellable')
  redis.call('ZREM', k[3], id)
  redis.call('ZADD', k[4], at, id)
  redis.call('ZADD', k[6], c[1], id)
  emitEvent(k[2], k[10], c[3], c[4], id, 'status', 'queued', versionText, '0', 'reason', reason, 'retryAt', at)
  return number
end
