--[[
fail-10: a worker reports failure. While attempts remain (attempt < maxAttempts), the failure is
retryable and no cancel was requested, the task goes back to `queued` with backoff (new attempt,
old lease token fenced); else it ends `failed`. A worker that fails while `cancelling` wins: failed.

<s> is the shard's key prefix `<prefix>:{<prefix>:<shard>}:`, e.g. `taskd:{taskd:0}:`.

KEYS[1]  <s>task:<id>             hash    the task
KEYS[2]  <s>task:<id>:events      stream  its events
KEYS[3]  <s>leases                zset    leased task ids by lease deadline
KEYS[4]  <s>delayed               zset    tasks waiting for runAt (retries wait here)
KEYS[5]  <s>index:active          zset    unfinished tasks by createdAt
KEYS[6]  <s>index:updated         zset    all tasks by updatedAt
KEYS[7]  <s>index:finished        zset    finished tasks by expiry
KEYS[8]  <s>unique                hash    uniqueKey -> id
KEYS[9]  <s>idempotency           hash    Idempotency-Key -> "<id> <expiresAt>"
KEYS[10] <s>events                stream  the shard's events

ARGV[1]  now               ms since epoch (decimal digits)
ARGV[2]  leaseToken        the token from claim
ARGV[3]  errorCode         e.g. "bdb_not_found"             ("" = none)
ARGV[4]  errorMessage                                         ("" = none)
ARGV[5]  retryable         "0" = never retry                  ("" = "1")
ARGV[6]  backoffBaseMs     first retry delay                  ("" = 1000)
ARGV[7]  backoffMaxMs      cap of the doubling delay          ("" = 300000)
ARGV[8]  taskEventsMaxLen                                     ("" = 1000)
ARGV[9]  shardEventsMaxLen                                    ("" = 10000)

Returns
  {0, "queued", version, retryAt}   re-queued for a new attempt at retryAt (ms)
  {0, "failed", version, ""}        failed for good (its keys expire resultTtl from now)
  {1}                 NOT_FOUND
  {3, status}         STALE_LEASE
  {2, status}         WRONG_STATUS
  {7, argument}       BAD_ARGUMENT
Events
  status (status queued, reason retry, retryAt) or status (status failed, reason fail, errorCode)
]]
-- @include "argInteger"
-- @include "backoffDelay"
-- @include "finishTask"
-- @include "requeueTask"

local now, leaseToken, errorCode, errorMessage, retryable = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local taskMaxLen = ARGV[8] ~= '' and ARGV[8] or '1000'
local shardMaxLen = ARGV[9] ~= '' and ARGV[9] or '10000'
local nowMs = argInteger(now)
if not nowMs then return {7, 'now'} end
if retryable ~= '' and retryable ~= '0' and retryable ~= '1' then return {7, 'retryable'} end
local backoffBaseMs = argInteger(ARGV[6], 1000)
if not backoffBaseMs or backoffBaseMs < 0 then return {7, 'backoffBaseMs'} end
local backoffMaxMs = argInteger(ARGV[7], 300000)
if not backoffMaxMs or backoffMaxMs < 0 then return {7, 'backoffMaxMs'} end
if ARGV[8] ~= '' and not argInteger(ARGV[8]) then return {7, 'taskEventsMaxLen'} end
if ARGV[9] ~= '' and not argInteger(ARGV[9]) then return {7, 'shardEventsMaxLen'} end

local f = redis.call('HMGET', KEYS[1], 'id', 'status', 'leaseToken', 'version', 'progress', 'objectName',
  'uniqueKey', 'idempotencyKey', 'resultTtl', 'attempt', 'maxAttempts')
local task = {id = f[1], status = f[2], version = f[4], progress = f[5], objectName = f[6], uniqueKey = f[7],
  idempotencyKey = f[8], resultTtl = f[9]}
local lease = f[3]
if not task.status then return {1} end
if leaseToken == '' or lease ~= leaseToken then return {3, task.status} end
if task.status ~= 'starting' and task.status ~= 'running' and task.status ~= 'impacted' and task.status ~= 'cancelling' then
  return {2, task.status}
end

local c = {now = now, nowMs = nowMs, hash = KEYS[1], stream = KEYS[2], leases = KEYS[3], delayed = KEYS[4],
  active = KEYS[5], updated = KEYS[6], finished = KEYS[7], unique = KEYS[8], idempotency = KEYS[9],
  events = KEYS[10], taskMaxLen = taskMaxLen, shardMaxLen = shardMaxLen}
local fields = {}
if errorCode ~= '' then
  fields[#fields + 1] = 'errorCode'
  fields[#fields + 1] = errorCode
end
if errorMessage ~= '' then
  fields[#fields + 1] = 'errorMessage'
  fields[#fields + 1] = errorMessage
end
local attempt = tonumber(f[10] or '1')
if retryable ~= '0' and task.status ~= 'cancelling' and attempt < tonumber(f[11] or '1') then
  local retryAt = nowMs + backoffDelay(attempt, backoffBaseMs, backoffMaxMs)
  return {0, 'queued', requeueTask(c, task, retryAt, fields, 'retry'), retryAt}
end
local extra = {'reason', 'fail'}
if errorCode ~= '' then
  extra[3] = 'errorCode'
  extra[4] = errorCode
end
return {0, 'failed', finishTask(c, task, 'failed', fields, extra), ''}
