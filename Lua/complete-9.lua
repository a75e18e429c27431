--[[
complete-9: a worker finishes its task successfully (starting/running/impacted/cancelling → completed).
A worker that completes while `cancelling` wins: the task ends completed.

<s> is the shard's key prefix `<prefix>:{<prefix>:<shard>}:`, e.g. `taskd:{taskd:0}:`.

KEYS[1]  <s>task:<id>             hash    the task
KEYS[2]  <s>task:<id>:events      stream  its events
KEYS[3]  <s>leases                zset    leased task ids by lease deadline
KEYS[4]  <s>index:active          zset    unfinished tasks by createdAt
KEYS[5]  <s>index:updated         zset    all tasks by updatedAt
KEYS[6]  <s>index:finished        zset    finished tasks by expiry (member: see retentionMember)
KEYS[7]  <s>unique                hash    uniqueKey -> id (entry removed here)
KEYS[8]  <s>idempotency           hash    Idempotency-Key -> "<id> <expiresAt>" (expiry set here)
KEYS[9]  <s>events                stream  the shard's events

ARGV[1]  now               ms since epoch (decimal digits)
ARGV[2]  leaseToken        the token from claim
ARGV[3]  response          JSON text, e.g. {"resourceId": 12}   ("" = none)
ARGV[4]  taskEventsMaxLen                  ("" = the default, include/streamLimits)
ARGV[5]  shardEventsMaxLen                 ("" = the default, include/streamLimits)

Returns
  {0, "completed", version, cancelRequested (0|1: a cancel request lost the race), commandType, startedAt}
  {1}                 NOT_FOUND
  {3, status}         STALE_LEASE
  {2, status}         WRONG_STATUS
  {7, argument}       BAD_ARGUMENT
Events
  status (status completed, progress 100, reason complete)
The task's hash and stream expire resultTtl seconds from now. cancelRequested is derived from the
status (a leased task has cancelRequested=1 exactly when it is cancelling; see heartbeat-5).
]]
-- @include "argInteger"
-- @include "streamLimits"
-- @include "checkLease"
-- @include "isLeased"
-- @include "finishTask"

local now, leaseToken, response = ARGV[1], ARGV[2], ARGV[3]
local nowMs = argInteger(now)
if not nowMs then return {7, 'now'} end
local taskMaxLen, shardMaxLen = streamLimits(ARGV[4], ARGV[5])
if not taskMaxLen then return {7, shardMaxLen} end

-- The finish layout (see finishTask), then leaseToken, id, and commandType and startedAt for the reply.
local f = redis.call('HMGET', KEYS[1], 'status', 'version', 'objectName', 'uniqueKey', 'idempotencyKey', 'resultTtl',
  'leaseToken', 'id', 'commandType', 'startedAt')
local status = f[1]
if not status then return {1} end
local refusal = checkLease(leaseToken, f[7], status)
if refusal then return refusal end
if not isLeased(status) then return {2, status} end

local c = {now, nowMs, taskMaxLen, shardMaxLen}
local fields = response ~= '' and {'progress', '100', 'response', response} or {'progress', '100'}
local version = finishTask(KEYS, c, f[8], f, '100', 'completed', fields, 'reason', 'complete')
return {0, 'completed', version, status == 'cancelling' and 1 or 0, f[9] or '', f[10] or ''}
