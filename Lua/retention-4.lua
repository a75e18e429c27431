--[[
retention-4: clean the indexes of finished tasks whose result expired (their hash and stream are
already gone by PEXPIREAT). Safe to run from every replica at once.

<s> is the shard's key prefix `<prefix>:{<prefix>:<shard>}:`, e.g. `taskd:{taskd:0}:`.

KEYS[1]  <s>index:finished        zset    finished tasks by expiry; member "<id>" or "<id>\n<objectName>\n<idempotencyKey>"
KEYS[2]  <s>index:updated         zset    all tasks by updatedAt
KEYS[3]  <s>index:object          zset    "<objectName>\n<id>", score 0
KEYS[4]  <s>idempotency           hash    Idempotency-Key -> "<id> <expiresAt>"

ARGV[1]  now               ms since epoch
ARGV[2]  limit             most tasks cleaned per call             ("" = 1000)

Returns
  {0, removed, nextExpiresAt}   nextExpiresAt: earliest expiry still retained (ms), or ""
  {7, argument}                 BAD_ARGUMENT
Events
  none
]]
-- @include "argInteger"

local now = argInteger(ARGV[1])
local limit = argInteger(ARGV[2], 1000)
if not now then return {7, 'now'} end
if not limit or limit < 1 then return {7, 'limit'} end

local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit)
for i = 1, #due do
  local id, objectName, idempotencyKey = string.match(due[i], '^([^\n]*)\n?([^\n]*)\n?(.*)$')
  redis.call('ZREM', KEYS[2], id)
  if objectName ~= '' then redis.call('ZREM', KEYS[3], objectName .. '\n' .. id) end
  if idempotencyKey ~= '' then
    local holder = redis.call('HGET', KEYS[4], idempotencyKey)
    if holder and string.match(holder, '^[^ ]+') == id then redis.call('HDEL', KEYS[4], idempotencyKey) end
  end
end
if #due > 0 then redis.call('ZREM', KEYS[1], unpack(due)) end
local next = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, #due, next[2] or ''}
