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
Safe to run from every replica at once: each step re-reads the task and is idempotent.

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
ARGV[3]  graceMs           grace after the lease ran out    ("" = the task's own lease length, leaseMs)
ARGV[4]  limit             most tasks handled per call      ("" = 100)
ARGV[5]  backoffBaseMs     first retry delay                ("" = 1000)
ARGV[6]  backoffMaxMs      cap of the doubling delay        ("" = 300000)
ARGV[7]  taskEventsMaxLen                                   ("" = 1000)
ARGV[8]  shardEventsMaxLen                                  ("" = 10000)

Returns
  {0, impacted, requeued, failed, cancelled, nextDeadline}   counts; nextDeadline: earliest lease
                                                             deadline still in the set (ms) or ""
  {7, argument}       BAD_ARGUMENT
Events
  status (impacted, reason lease-overdue); status (queued, reason lease-lost, retryAt);
  status (failed, reason lease-lost, errorCode worker_lost); status (cancelled, reason lease-lost)
]]
-- @include "argInteger"
-- @include "taskKey"
-- @include "backoffDelay"
-- @include "emitEvent"
-- @include "nextVersion"
-- @include "finishTask"
-- @include "requeueTask"

local now, shard = ARGV[1], ARGV[2]
local taskMaxLen = ARGV[7] ~= '' and ARGV[7] or '1000'
local shardMaxLen = ARGV[8] ~= '' and ARGV[8] or '10000'
local nowMs = argInteger(now)
if not nowMs then return {7, 'now'} end
if shard == nil or shard == '' then return {7, 'shard'} end
for i = 1, #KEYS do
  if string.sub(KEYS[i], 1, #shard) ~= shard then return {7, 'KEYS[' .. i .. ']'} end
end
local graceMs = argInteger(ARGV[3], -1)
if not graceMs or graceMs < -1 then return {7, 'graceMs'} end
local limit = argInteger(ARGV[4], 100)
if not limit or limit < 1 then return {7, 'limit'} end
local backoffBaseMs = argInteger(ARGV[5], 1000)
if not backoffBaseMs or backoffBaseMs < 0 then return {7, 'backoffBaseMs'} end
local backoffMaxMs = argInteger(ARGV[6], 300000)
if not backoffMaxMs or backoffMaxMs < 0 then return {7, 'backoffMaxMs'} end
if ARGV[7] ~= '' and not argInteger(ARGV[7]) then return {7, 'taskEventsMaxLen'} end
if ARGV[8] ~= '' and not argInteger(ARGV[8]) then return {7, 'shardEventsMaxLen'} end

local impacted, requeued, failed, cancelled = 0, 0, 0, 0
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit)
for _, id in ipairs(due) do
  local key = taskKey(shard, id)
  local f = redis.call('HMGET', key, 'status', 'leaseToken', 'leaseExpiresAt', 'leaseMs', 'version', 'progress',
    'objectName', 'uniqueKey', 'idempotencyKey', 'resultTtl', 'attempt', 'maxAttempts')
  local task = {id = id, status = f[1], version = f[5], progress = f[6], objectName = f[7], uniqueKey = f[8],
    idempotencyKey = f[9], resultTtl = f[10]}
  local status = task.status
  local leased = status == 'starting' or status == 'running' or status == 'impacted' or status == 'cancelling'
  local leaseExpiresAt = tonumber(f[3] or '')
  local c = {now = now, nowMs = nowMs, hash = key, stream = key .. ':events', leases = KEYS[1], delayed = KEYS[2],
    active = KEYS[3], updated = KEYS[4], finished = KEYS[5], unique = KEYS[6], idempotency = KEYS[7],
    events = KEYS[8], taskMaxLen = taskMaxLen, shardMaxLen = shardMaxLen}
  if not leased or not f[2] or f[2] == '' or not leaseExpiresAt then
    redis.call('ZREM', KEYS[1], id)
  elseif leaseExpiresAt > nowMs then
    redis.call('ZADD', KEYS[1], f[3], id)
  else
    local grace = graceMs
    if grace < 0 then grace = tonumber(f[4] or '0') end
    local deadline = leaseExpiresAt + grace
    if nowMs < deadline then
      if status == 'starting' or status == 'running' then
        task.status = 'impacted'
        nextVersion(task)
        redis.call('HSET', key, 'status', 'impacted', 'updatedAt', now, 'version', task.version)
        redis.call('ZADD', KEYS[4], now, id)
        emitEvent(c.stream, KEYS[8], taskMaxLen, shardMaxLen, task, 'status', {'reason', 'lease-overdue'})
        impacted = impacted + 1
      end
      redis.call('ZADD', KEYS[1], string.format('%d', deadline), id)
    elseif status == 'cancelling' then
      finishTask(c, task, 'cancelled', {}, {'reason', 'lease-lost'})
      cancelled = cancelled + 1
    else
      local attempt = tonumber(f[11] or '1')
      local fields = {'errorCode', 'worker_lost', 'errorMessage', 'the worker stopped renewing its lease'}
      if attempt < tonumber(f[12] or '1') then
        requeueTask(c, task, nowMs + backoffDelay(attempt, backoffBaseMs, backoffMaxMs), fields, 'lease-lost')
        requeued = requeued + 1
      else
        finishTask(c, task, 'failed', fields, {'reason', 'lease-lost', 'errorCode', 'worker_lost'})
        failed = failed + 1
      end
    end
  end
end
local next = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, impacted, requeued, failed, cancelled, next[2] or ''}
