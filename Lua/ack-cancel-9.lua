--[[
ack-cancel-9: the worker acknowledges a cancel request (cancelling → cancelled).

<s> is the shard's key prefix `<prefix>:{<prefix>:<shard>}:`, e.g. `taskd:{taskd:0}:`.

KEYS[1]  <s>task:<id>             hash    the task
KEYS[2]  <s>task:<id>:events      stream  its events
KEYS[3]  <s>leases                zset    leased task ids by lease deadline
KEYS[4]  <s>index:active          zset    unfinished tasks by createdAt
KEYS[5]  <s>index:updated         zset    all tasks by updatedAt
KEYS[6]  <s>index:finished        zset    finished tasks by expiry
KEYS[7]  <s>unique                hash    uniqueKey -> id
KEYS[8]  <s>idempotency           hash    Idempotency-Key -> "<id> <expiresAt>"
KEYS[9]  <s>events                stream  the shard's events

ARGV[1]  now               ms since epoch (decimal digits)
ARGV[2]  leaseToken        the token from claim
ARGV[3]  taskEventsMaxLen                  ("" = the default, include/streamLimits)
ARGV[4]  shardEventsMaxLen                 ("" = the default, include/streamLimits)

Returns
  {0, "cancelled", version, commandType, startedAt}
  {1}                 NOT_FOUND
  {3, status}         STALE_LEASE
  {2, status}         WRONG_STATUS (no cancel was requested)
  {7, argument}       BAD_ARGUMENT
Events
  status (status cancelled, reason ack)
]]
-- @include "argInteger"
-- @include "streamLimits"
-- @include "checkLease"
-- @include "finishTask"

local now, leaseToken = ARGV[1], ARGV[2]
local nowMs = argInteger(now)
if not nowMs then return {7, 'now'} end
local taskMaxLen, shardMaxLen = streamLimits(ARGV[3], ARGV[4])
if not taskMaxLen then return {7, shardMaxLen} end

-- The finish layout (see finishTask), then leaseToken, id, progress, and commandType and startedAt for the reply.
local f = redis.call('HMGET', KEYS[1], 'status', 'version', 'objectName', 'uniqueKey', 'idempotencyKey', 'resultTtl',
  'leaseToken', 'id', 'progress', 'commandType', 'startedAt')
local status = f[1]
if not status then return {1} end
local refusal = checkLease(leaseToken, f[7], status)
if refusal then return refusal end
if status ~= 'cancelling' then return {2, status} end

local c = {now, nowMs, taskMaxLen, shardMaxLen}
return {0, 'cancelled', finishTask(KEYS, c, f[8], f, f[9], 'cancelled', {}, 'reason', 'ack'), f[10] or '', f[11] or ''}
