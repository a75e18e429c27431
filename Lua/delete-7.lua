--[[
delete-7: remove a finished task now (DELETE /v1/tasks/{id}): its hash, its stream and its index
entries. Unfinished tasks are refused (cancel them first).

<s> is the shard's key prefix `<prefix>:{<prefix>:<shard>}:`, e.g. `taskd:{taskd:0}:`.

KEYS[1]  <s>task:<id>             hash    the task
KEYS[2]  <s>task:<id>:events      stream  its events
KEYS[3]  <s>index:updated         zset    all tasks by updatedAt
KEYS[4]  <s>index:finished        zset    finished tasks by expiry
KEYS[5]  <s>index:object          zset    "<objectName>\n<id>", score 0
KEYS[6]  <s>idempotency           hash    Idempotency-Key -> "<id> <expiresAt>"
KEYS[7]  <s>events                stream  the shard's events

ARGV[1]  now               ms since epoch (unused by the logic; kept for the common ARGV shape)
ARGV[2]  shardEventsMaxLen                 ("" = the default, include/streamLimits)

Returns
  {0}
  {1}                 NOT_FOUND
  {2, status}         WRONG_STATUS (not finished)
  {7, argument}       BAD_ARGUMENT
Events
  deleted (shard stream only; the task's own stream is deleted)
]]
-- @include "argInteger"
-- @include "streamLimits"
-- @include "isFinished"
-- @include "retentionMember"
-- @include "progressOf"

if not argInteger(ARGV[1]) then return {7, 'now'} end
local taskMaxLen, shardMaxLen = streamLimits('', ARGV[2]) -- (no task event: the task stream is deleted)
if not taskMaxLen then return {7, shardMaxLen} end

local f = redis.call('HMGET', KEYS[1], 'id', 'status', 'version', 'progress', 'objectName', 'idempotencyKey')
local id, status, objectName, idempotencyKey = f[1], f[2], f[5], f[6]
if not status then return {1} end
if not isFinished(status) then return {2, status} end

redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], id)
redis.call('ZREM', KEYS[4], retentionMember(id, objectName, idempotencyKey))
if objectName then redis.call('ZREM', KEYS[5], objectName .. '\n' .. id) end
if idempotencyKey then
  local holder = redis.call('HGET', KEYS[6], idempotencyKey)
  if holder and string.match(holder, '^[^ ]+') == id then redis.call('HDEL', KEYS[6], idempotencyKey) end
end
redis.call('XADD', KEYS[7], 'MAXLEN', '~', shardMaxLen, '*', 'id', id, 'kind', 'deleted', 'status', status,
  'version', f[3], 'progress', progressOf(f[4]))
return {0}
