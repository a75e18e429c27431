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
ARGV[6]  backoffBaseMs     first retry delay                  ("" = default, include/backoffLimits)
ARGV[7]  backoffMaxMs      cap of the doubling delay          ("" = default, include/backoffLimits)
ARGV[8]  taskEventsMaxLen                                     ("" = default, include/streamLimits)
ARGV[9]  shardEventsMaxLen                                    ("" = default, include/streamLimits)

Returns
  {0, "queued", version, retryAt, commandType, startedAt}   re-queued for a new attempt at retryAt (ms)
  {0, "failed", version, "", commandType, startedAt}        failed for good (its keys expire resultTtl from now)
  {1}                 NOT_FOUND
  {3, status}         STALE_LEASE
  {2, status}         WRONG_STATUS
  {7, argument}       BAD_ARGUMENT
Events
  status (status queued, reason retry, retryAt) or status (status failed, reason fail, errorCode)
]]
-- @include "argInteger"
-- @include "streamLimits"
-- @include "backoffLimits"
-- @include "backoffDelay"
-- @include "checkLease"
-- @include "isLeased"
-- @include "attemptsLeft"
-- @include "finishTask"
-- @include "requeueTask"

local now, leaseToken, errorCode, errorMessage, retryable = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local nowMs = argInteger(now)
if not nowMs then return {7, 'now'} end
if retryable ~= '' and retryable ~= '0' and retryable ~= '1' then return {7, 'retryable'} end
local backoffBaseMs, backoffMaxMs = backoffLimits(ARGV[6], ARGV[7])
if not backoffBaseMs then return {7, backoffMaxMs} end
local taskMaxLen, shardMaxLen = streamLimits(ARGV[8], ARGV[9])
if not taskMaxLen then return {7, shardMaxLen} end

-- The finish layout (see finishTask), then leaseToken, id, progress, attempt, maxAttempts, and
-- commandType and startedAt for the reply.
local f = redis.call('HMGET', KEYS[1], 'status', 'version', 'objectName', 'uniqueKey', 'idempotencyKey', 'resultTtl',
  'leaseToken', 'id', 'progress', 'attempt', 'maxAttempts', 'commandType', 'startedAt')
local status = f[1]
if not status then return {1} end
local refusal = checkLease(leaseToken, f[7], status)
if refusal then return refusal end
if not isLeased(status) then return {2, status} end

local c = {now, nowMs, taskMaxLen, shardMaxLen}
local fields = {}
if errorCode ~= '' then
  fields[#fields + 1] = 'errorCode'
  fields[#fields + 1] = errorCode
end
if errorMessage ~= '' then
  fields[#fields + 1] = 'errorMessage'
  fields[#fields + 1] = errorMessage
end
local left, attempt = attemptsLeft(f[10], f[11])
if retryable ~= '0' and status ~= 'cancelling' and left then
  local retryAt = nowMs + backoffDelay(attempt, backoffBaseMs, backoffMaxMs)
  return {0, 'queued', requeueTask(KEYS, c, f[8], f[2], retryAt, fields, 'retry'), retryAt, f[12] or '', f[13] or ''}
end
-- finishTask takes complete-9's key order: fail-10 has delayed at KEYS[4].
local k = {KEYS[1], KEYS[2], KEYS[3], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10]}
if errorCode ~= '' then
  return {0, 'failed', finishTask(k, c, f[8], f, f[9], 'failed', fields, 'reason', 'fail', 'errorCode', errorCode), '', f[12] or '', f[13] or ''}
end
return {0, 'failed', finishTask(k, c, f[8], f, f[9], 'failed', fields, 'reason', 'fail'), '', f[12] or '', f[13] or ''}
