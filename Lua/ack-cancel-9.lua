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
ARGV[3]  taskEventsMaxLen                                  ("" = 1000)
ARGV[4]  shardEventsMaxLen                                 ("" = 10000)

Returns
  {0, "cancelled", version}
  {1}                 NOT_FOUND
  {3, status}         STALE_LEASE
  {2, status}         WRONG_STATUS (no cancel was requested)
  {7, argument}       BAD_ARGUMENT
Events
  status (status cancelled, reason ack)
]]
-- @include "argInteger"
-- @include "finishTask"

local now, leaseToken = ARGV[1], ARGV[2]
local taskMaxLen = ARGV[3] ~= '' and ARGV[3] or '1000'
local shardMaxLen = ARGV[4] ~= '' and ARGV[4] or '10000'
local nowMs = argInteger(now)
if not nowMs then return {7, 'now'} end
if ARGV[3] ~= '' and not argInteger(ARGV[3]) then return {7, 'taskEventsMaxLen'} end
if ARGV[4] ~= '' and not argInteger(ARGV[4]) then return {7, 'shardEventsMaxLen'} end

local f = redis.call('HMGET', KEYS[1], 'id', 'status', 'leaseToken', 'version', 'progress', 'objectName',
  'uniqueKey', 'idempotencyKey', 'resultTtl')
local task = {id = f[1], status = f[2], version = f[4], progress = f[5], objectName = f[6], uniqueKey = f[7],
  idempotencyKey = f[8], resultTtl = f[9]}
if not task.status then return {1} end
if leaseToken == '' or f[3] ~= leaseToken then return {3, task.status} end
if task.status ~= 'cancelling' then return {2, task.status} end

local c = {now = now, nowMs = nowMs, hash = KEYS[1], stream = KEYS[2], leases = KEYS[3], active = KEYS[4],
  updated = KEYS[5], finished = KEYS[6], unique = KEYS[7], idempotency = KEYS[8], events = KEYS[9],
  taskMaxLen = taskMaxLen, shardMaxLen = shardMaxLen}
return {0, 'cancelled', finishTask(c, task, 'cancelled', {}, {'reason', 'ack'})}
