-- @include "retentionMember"
-- Keeps a finished task until `expiresAt` (ms, a string of digits): PEXPIREAT on its hash and stream,
-- its entry in index:finished, and the expiry recorded with its Idempotency-Key. The caller writes
-- the hash field expiresAt itself (with its other fields, in one HSET).
local function applyRetention(hashKey, streamKey, finishedKey, idempotencyKey, task, expiresAt)
  redis.call('PEXPIREAT', hashKey, expiresAt)
  redis.call('PEXPIREAT', streamKey, expiresAt)
  redis.call('ZADD', finishedKey, expiresAt, retentionMember(task.id, task.objectName, task.idempotencyKey))
  if task.idempotencyKey then
    local holder = redis.call('HGET', idempotencyKey, task.idempotencyKey)
    if holder and string.match(holder, '^[^ ]+') == task.id then
      redis.call('HSET', idempotencyKey, task.idempotencyKey, task.id .. ' ' .. expiresAt)
    end
  end
end
