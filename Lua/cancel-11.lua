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
never changes). It is checked against the hash: it must be queueKey(<s>, commandType), with <s>
the prefix of KEYS[11].

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
ARGV[3]  taskEventsMaxLen                  ("" = the default, include/streamLimits)
ARGV[4]  shardEventsMaxLen                 ("" = the default, include/streamLimits)

Returns
  {0, "cancelled" | "cancelling", version, changed (0|1), startedAt}
                      changed=0: the task was cancelling already (an idempotent repeat, nothing
                      written); startedAt ("" when never claimed) for the caller's run-time figure
  {1}                 NOT_FOUND
  {4, status}         NOT_CANCELLABLE (commit phase; retry with force)
  {2, status}         WRONG_STATUS (already finished)
  {7, argument}       BAD_ARGUMENT
Events
  status (status cancelled, reason cancel | force) or status (status cancelling, reason cancel)
]]
-- @include "argInteger"
-- @include "streamLimits"
-- @include "queueKey"
-- @include "isLeased"
-- @include "emitEvent"
-- @include "nextVersion"
-- @include "progressOf"
-- @include "finishTask"

local now, force = ARGV[1], ARGV[2]
local nowMs = argInteger(now)
if not nowMs then return {7, 'now'} end
if force ~= '' and force ~= '0' and force ~= '1' then return {7, 'force'} end
local taskMaxLen, shardMaxLen = streamLimits(ARGV[3], ARGV[4])
if not taskMaxLen then return {7, shardMaxLen} end

-- The finish layout (see finishTask), then id, progress, commandType, cancellable.
local f = redis.call('HMGET', KEYS[1], 'status', 'version', 'objectName', 'uniqueKey', 'idempotencyKey', 'resultTtl',
  'id', 'progress', 'commandType', 'cancellable', 'startedAt')
local status = f[1]
if not status then return {1} end
if KEYS[3] ~= queueKey(string.sub(KEYS[11], 1, -7), f[9]) then return {7, 'KEYS[3]'} end
local leased = isLeased(status)
if status ~= 'queued' and not leased then return {2, status} end
local startedAt = f[11] or ''
if status == 'cancelling' and force ~= '1' then return {0, 'cancelling', f[2] + 0, 0, startedAt} end
if leased and force ~= '1' and f[10] == '0' then return {4, status} end

local id = f[7]
local c = {now, nowMs, taskMaxLen, shardMaxLen}
-- finishTask takes complete-9's key order.
local k = {KEYS[1], KEYS[2], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11]}
if status == 'queued' then
  redis.call('ZREM', KEYS[3], id)
  redis.call('ZREM', KEYS[4], id)
  return {0, 'cancelled', finishTask(k, c, id, f, f[8], 'cancelled', {'cancelRequested', '1'}, 'reason', 'cancel'), 1, startedAt}
end
if force == '1' then
  return {0, 'cancelled', finishTask(k, c, id, f, f[8], 'cancelled', {'cancelRequested', '1'}, 'reason', 'force'), 1, startedAt}
end
local version, versionText = nextVersion(f[2])
redis.call('HSET', KEYS[1], 'status', 'cancelling', 'version', versionText, 'updatedAt', now, 'cancelRequested', '1')
redis.call('ZADD', KEYS[7], now, id)
emitEvent(KEYS[2], KEYS[11], taskMaxLen, shardMaxLen, id, 'status', 'cancelling', versionText, progressOf(f[8]), 'reason', 'cancel')
return {0, 'cancelling', version, 1, startedAt}
