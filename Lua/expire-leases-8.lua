--[[
expire-leases-8: the lease reaper. For each task whose lease deadline passed (lease set score <= now):
  lease overdue (now < leaseExpiresAt + grace):
      starting | running        → impacted (the token stays valid; a heartbeat brings it back to running)
      impacted | cancelling     → unchanged
    and the task is re-scored to leaseExpiresAt + grace, so it comes back when the grace is over.
  lease lost (now >= leaseExpiresAt + grace); the token is fenced in every case:
      cancelling                                     → cancelled (a cancelled task is never retried)
      attempt < maxAttempts                          → queued, new attempt after backoff (delayed set)
      else                                           → failed, errorCode worker_lost
Safe to run from every replica at once: each step re-reads the task and is idempotent. Each task is
one complete step: everything it needs is computed before its first write.

<s> is the shard's key prefix `<prefix>:{<prefix>:<shard>}:`, e.g. `taskd:{taskd:0}:`.

KEYS[1]  <s>leases                zset    leased task ids by lease deadline
KEYS[2]  <s>delayed               zset    tasks waiting for runAt (retries wait here)
KEYS[3]  <s>index:active          zset    unfinished tasks by createdAt
KEYS[4]  <s>index:updated         zset    all tasks by updatedAt
KEYS[5]  <s>index:finished        zset    finished tasks by expiry
KEYS[6]  <s>unique                hash    uniqueKey -> id
KEYS[7]  <s>idempotency           hash    Idempotency-Key -> "<id> <expiresAt>"
KEYS[8]  <s>events                stream  the shard's events

Keys declared via ARGV[2] (the ids are only known inside the script; same hash tag, same slot):
         <s>task:<id>, <s>task:<id>:events

ARGV[1]  now               ms since epoch (decimal digits)
ARGV[2]  shard             the shard's key prefix <s>; every KEYS[i] must start with it
ARGV[3]  graceMs           grace after the lease ran out    ("" = the task's own lease length,
                                                             leaseMs, see include/taskLeaseMs)
ARGV[4]  limit             most tasks handled per call      ("" = 100)
ARGV[5]  backoffBaseMs     first retry delay                ("" = default, include/backoffLimits)
ARGV[6]  backoffMaxMs      cap of the doubling delay        ("" = default, include/backoffLimits)
ARGV[7]  taskEventsMaxLen                                   ("" = default, include/streamLimits)
ARGV[8]  shardEventsMaxLen                                  ("" = default, include/streamLimits)

Returns
  {0, impacted, requeued, failed, cancelled, nextDeadline}   counts; nextDeadline: earliest lease
                                                             deadline still in the set (ms) or ""
  {7, argument}       BAD_ARGUMENT
Events
  status (impacted, reason lease-overdue); status (queued, reason lease-lost, retryAt);
  status (failed, reason lease-lost, errorCode worker_lost); status (cancelled, reason lease-lost)
]]
-- @include "argInteger"
-- @include "streamLimits"
-- @include "backoffLimits"
-- @include "taskKey"
-- @include "taskEventsKey"
-- @include "isLeased"
-- @include "taskLeaseMs"
-- @include "attemptsLeft"
-- @include "backoffDelay"
-- @include "emitEvent"
-- @include "nextVersion"
-- @include "progressOf"
-- @include "finishTask"
-- @include "requeueTask"

local now, shard = ARGV[1], ARGV[2]
local nowMs = argInteger(now)
if not nowMs then return {7, 'now'} end
if shard == nil or shard == '' then return {7, 'shard'} end
for i = 1, #KEYS do
  if string.find(KEYS[i], shard, 1, true) ~= 1 then return {7, 'KEYS[' .. i .. ']'} end
end
local graceMs = argInteger(ARGV[3], -1)
if not graceMs or graceMs < -1 then return {7, 'graceMs'} end
local limit = argInteger(ARGV[4], 100)
if not limit or limit < 1 then return {7, 'limit'} end
local backoffBaseMs, backoffMaxMs = backoffLimits(ARGV[5], ARGV[6])
if not backoffBaseMs then return {7, backoffMaxMs} end
local taskMaxLen, shardMaxLen = streamLimits(ARGV[7], ARGV[8])
if not taskMaxLen then return {7, shardMaxLen} end

local c = {now, nowMs, taskMaxLen, shardMaxLen}
local impacted, requeued, failed, cancelled = 0, 0, 0, 0
local lostFields = {'errorCode', 'worker_lost', 'errorMessage', 'the worker stopped renewing its lease'}
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', '0', limit)
for _, id in ipairs(due) do
  local key = taskKey(shard, id)
  -- The finish layout (see finishTask), then leaseToken, leaseExpiresAt, leaseMs, progress, attempt, maxAttempts.
  local f = redis.call('HMGET', key, 'status', 'version', 'objectName', 'uniqueKey', 'idempotencyKey', 'resultTtl',
    'leaseToken', 'leaseExpiresAt', 'leaseMs', 'progress', 'attempt', 'maxAttempts')
  local status = f[1]
  local leaseExpiresAt = tonumber(f[8] or '')
  if not isLeased(status) or not f[7] or f[7] == '' or not leaseExpiresAt then
    redis.call('ZREM', KEYS[1], id)
  elseif leaseExpiresAt > nowMs then
    redis.call('ZADD', KEYS[1], f[8], id)
  else
    local stream = taskEventsKey(key)
    local grace = graceMs
    if grace < 0 then grace = taskLeaseMs(f[9]) + 0 end
    local deadline = leaseExpiresAt + grace
    if nowMs < deadline then
      if status == 'starting' or status == 'running' then
        local _, versionText = nextVersion(f[2])
        redis.call('HSET', key, 'status', 'impacted', 'version', versionText, 'updatedAt', now)
        redis.call('ZADD', KEYS[4], now, id)
        emitEvent(stream, KEYS[8], taskMaxLen, shardMaxLen, id, 'status', 'impacted', versionText, progressOf(f[10]),
          'reason', 'lease-overdue')
        impacted = impacted + 1
      end
      redis.call('ZADD', KEYS[1], string.format('%d', deadline), id)
    elseif status == 'cancelling' then
      -- finishTask takes complete-9's key order.
      local k = {key, stream, KEYS[1], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]}
      finishTask(k, c, id, f, f[10], 'cancelled', {}, 'reason', 'lease-lost')
      cancelled = cancelled + 1
    else
      local left, attempt = attemptsLeft(f[11], f[12])
      if left then
        -- requeueTask takes fail-10's key order (index:active, index:finished, unique and idempotency unused).
        local k = {key, stream, KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]}
        requeueTask(k, c, id, f[2], nowMs + backoffDelay(attempt, backoffBaseMs, backoffMaxMs), lostFields, 'lease-lost')
        requeued = requeued + 1
      else
        local k = {key, stream, KEYS[1], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]}
        finishTask(k, c, id, f, f[10], 'failed', lostFields, 'reason', 'lease-lost', 'errorCode', 'worker_lost')
        failed = failed + 1
      end
    end
  end
end
local next = redis.call('ZRANGE', KEYS[1], '0', '0', 'WITHSCORES')
return {0, impacted, requeued, failed, cancelled, next[2] or ''}
