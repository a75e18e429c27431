-- @include "retentionMember"
-- Keeps a finished task until `expiresAt` (ms, a string of digits): PEXPIREAT on its hash and stream,
-- its entry in index:finished, and the expiry recorded with its Idempotency-Key. `id`, `objectName`
-- and `idempotencyKey` are the task's (the last two false or nil when it has none); `idempotencyHash`
-- is the shard's idempotency hash. The caller writes the hash field expiresAt itself (with its other
-- fields, in one HSET).
local function applyRetention(hashKey, streamKey, finishedKey, idempotencyHash, id, objectName, idempotencyKey, expiresAt)
  redis.call('PEXPIREAT', hashKey, expiresAt)
  redis.call('PEXPIREAT', streamKey, expiresAt)
  redis.call('ZADD', finishedKey, expiresAt, retentionMember(id, objectName, idempotencyKey))
  if idempotencyKey then
    local holder = redis.call('HGET', idempotencyHash, idempotencyKey)
    if holder and string.match(holder, '^[^ ]+') == id then
      redis.call('HSET', idempotencyHash, idempotencyKey, id .. ' ' .. expiresAt)
    end
  end
end
