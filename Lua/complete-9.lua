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
ARGV[4]  taskEventsMaxLen                                       ("" = 1000)
ARGV[5]  shardEventsMaxLen                                      ("" = 10000)

Returns
  {0, "completed", version, cancelRequested (0|1: a cancel request lost the race)}
  {1}                 NOT_FOUND
  {3, status}         STALE_LEASE
  {2, status}         WRONG_STATUS
  {7, argument}       BAD_ARGUMENT
Events
  status (status completed, progress 100, reason complete)
The task's hash and stream expire resultTtl seconds from now.
]]
-- @include "argInteger"
-- @include "finishTask"

local now, leaseToken, response = ARGV[1], ARGV[2], ARGV[3]
local taskMaxLen = ARGV[4] ~= '' and ARGV[4] or '1000'
local shardMaxLen = ARGV[5] ~= '' and ARGV[5] or '10000'
local nowMs = argInteger(now)
if not nowMs then return {7, 'now'} end
if ARGV[4] ~= '' and not argInteger(ARGV[4]) then return {7, 'taskEventsMaxLen'} end
if ARGV[5] ~= '' and not argInteger(ARGV[5]) then return {7, 'shardEventsMaxLen'} end

local f = redis.call('HMGET', KEYS[1], 'id', 'status', 'leaseToken', 'version', 'objectName', 'uniqueKey',
  'idempotencyKey', 'resultTtl', 'cancelRequested')
local task = {id = f[1], status = f[2], version = f[4], progress = '100', objectName = f[5], uniqueKey = f[6],
  idempotencyKey = f[7], resultTtl = f[8]}
local lease = f[3]
if not task.status then return {1} end
if leaseToken == '' or lease ~= leaseToken then return {3, task.status} end
if task.status ~= 'starting' and task.status ~= 'running' and task.status ~= 'impacted' and task.status ~= 'cancelling' then
  return {2, task.status}
end

local c = {now = now, nowMs = nowMs, hash = KEYS[1], stream = KEYS[2], leases = KEYS[3], active = KEYS[4],
  updated = KEYS[5], finished = KEYS[6], unique = KEYS[7], idempotency = KEYS[8], events = KEYS[9],
  taskMaxLen = taskMaxLen, shardMaxLen = shardMaxLen}
local version
if response ~= '' then
  version = finishTask(c, task, 'completed', {'progress', '100', 'response', response}, {'reason', 'complete'})
else
  version = finishTask(c, task, 'completed', {'progress', '100'}, {'reason', 'complete'})
end
local cancelRequested = 0
if f[9] == '1' then cancelRequested = 1 end
return {0, 'completed', version, cancelRequested}
