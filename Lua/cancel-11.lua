--[[
cancel-11: an operator cancels a task.
  queued                                 → cancelled (leaves its queue / the delayed set)
  starting | running | impacted          → cancelling (cancelRequested=1; the worker acks or finishes)
      refused with NOT_CANCELLABLE (406) when the worker declared cancellable=0 (commit phase)
  cancelling                             → unchanged, answered as success (idempotent)
  force=1 on starting|running|impacted|cancelling → cancelled at once; the lease is fenced, so the
      worker's later calls get STALE_LEASE with status cancelled
  completed | failed | cancelled | dismissed → WRONG_STATUS (409: already finished)

The caller passes the queue key of the task's commandType (read it first with HGET; commandType
never changes). It is checked against the hash.

<s> is the shard's key prefix `<prefix>:{<prefix>:<shard>}:`, e.g. `taskd:{taskd:0}:`.

KEYS[1]  <s>task:<id>             hash    the task
KEYS[2]  <s>task:<id>:events      stream  its events
KEYS[3]  <s>queue:<commandType>   zset    ready queue of its commandType
KEYS[4]  <s>delayed               zset    tasks waiting for runAt
KEYS[5]  <s>leases                zset    leased task ids by lease deadline
KEYS[6]  <s>index:active          zset    unfinished tasks by createdAt
KEYS[7]  <s>index:updated         zset    all tasks by updatedAt
KEYS[8]  <s>index:finished        zset    finished tasks by expiry
KEYS[9]  <s>unique                hash    uniqueKey -> id
KEYS[10] <s>idempotency           hash    Idempotency-Key -> "<id> <expiresAt>"
KEYS[11] <s>events                stream  the shard's events

ARGV[1]  now               ms since epoch (decimal digits)
ARGV[2]  force             "1" = cancel even in the commit phase, without waiting for the worker ("" = "0")
ARGV[3]  taskEventsMaxLen                                  ("" = 1000)
ARGV[4]  shardEventsMaxLen                                 ("" = 10000)

Returns
  {0, "cancelled" | "cancelling", version}
  {1}                 NOT_FOUND
  {4, status}         NOT_CANCELLABLE (commit phase; retry with force)
  {2, status}         WRONG_STATUS (already finished)
  {7, argument}       BAD_ARGUMENT
Events
  status (status cancelled, reason cancel | force) or status (status cancelling, reason cancel)
]]
-- @include "argInteger"
-- @include "emitEvent"
-- @include "nextVersion"
-- @include "finishTask"

local now, force = ARGV[1], ARGV[2]
local taskMaxLen = ARGV[3] ~= '' and ARGV[3] or '1000'
local shardMaxLen = ARGV[4] ~= '' and ARGV[4] or '10000'
local nowMs = argInteger(now)
if not nowMs then return {7, 'now'} end
if force ~= '' and force ~= '0' and force ~= '1' then return {7, 'force'} end
if ARGV[3] ~= '' and not argInteger(ARGV[3]) then return {7, 'taskEventsMaxLen'} end
if ARGV[4] ~= '' and not argInteger(ARGV[4]) then return {7, 'shardEventsMaxLen'} end

local f = redis.call('HMGET', KEYS[1], 'id', 'status', 'version', 'progress', 'commandType', 'objectName',
  'uniqueKey', 'idempotencyKey', 'resultTtl', 'cancellable')
local task = {id = f[1], status = f[2], version = f[3], progress = f[4], objectName = f[6],
  uniqueKey = f[7], idempotencyKey = f[8], resultTtl = f[9]}
if not task.status then return {1} end
local queueSuffix = 'queue:' .. f[5]
if string.sub(KEYS[3], -#queueSuffix) ~= queueSuffix then return {7, 'KEYS[3]'} end
local status = task.status
local leased = status == 'starting' or status == 'running' or status == 'impacted' or status == 'cancelling'
if status ~= 'queued' and not leased then return {2, status} end
if status == 'cancelling' and force ~= '1' then return {0, 'cancelling', tonumber(task.version)} end
if leased and force ~= '1' and f[10] == '0' then return {4, status} end

local c = {now = now, nowMs = nowMs, hash = KEYS[1], stream = KEYS[2], leases = KEYS[5], active = KEYS[6],
  updated = KEYS[7], finished = KEYS[8], unique = KEYS[9], idempotency = KEYS[10], events = KEYS[11],
  taskMaxLen = taskMaxLen, shardMaxLen = shardMaxLen}
if status == 'queued' then
  redis.call('ZREM', KEYS[3], task.id)
  redis.call('ZREM', KEYS[4], task.id)
  return {0, 'cancelled', finishTask(c, task, 'cancelled', {'cancelRequested', '1'}, {'reason', 'cancel'})}
end
if force == '1' then
  return {0, 'cancelled', finishTask(c, task, 'cancelled', {'cancelRequested', '1'}, {'reason', 'force'})}
end
task.status = 'cancelling'
local version = nextVersion(task)
redis.call('HSET', KEYS[1], 'status', 'cancelling', 'cancelRequested', '1', 'updatedAt', now, 'version', task.version)
redis.call('ZADD', KEYS[7], now, task.id)
emitEvent(KEYS[2], KEYS[11], taskMaxLen, shardMaxLen, task, 'status', {'reason', 'cancel'})
return {0, 'cancelling', version}
