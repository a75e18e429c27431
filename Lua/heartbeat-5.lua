--[[
heartbeat-5: renew a worker's lease and report progress (starting/impacted → running).

<s> is the shard's key prefix `<prefix>:{<prefix>:<shard>}:`, e.g. `taskd:{taskd:0}:`.

KEYS[1]  <s>task:<id>             hash    the task
KEYS[2]  <s>task:<id>:events      stream  its events
KEYS[3]  <s>leases                zset    leased task ids by lease deadline
KEYS[4]  <s>index:updated         zset    all tasks by updatedAt
KEYS[5]  <s>events                stream  the shard's events

ARGV[1]  now               ms since epoch (decimal digits)
ARGV[2]  leaseToken        the token from claim
ARGV[3]  leaseMs           new lease length from now, ms (> 0)
ARGV[4]  progress          number 0..100                  ("" = unchanged)
ARGV[5]  state             current state name             ("" = unchanged)
ARGV[6]  statusDescription worker's status sentence       ("" = unchanged)
ARGV[7]  cancellable       "1" | "0" (commit phase)       ("" = unchanged)
ARGV[8]  taskEventsMaxLen                                 ("" = 1000)
ARGV[9]  shardEventsMaxLen                                ("" = 10000)
ARGV[10..] pairs opId, opJson: each replaces field op:<opId> with that JSON object
           ({progress, op_name, status_code, status_description, snapshot, heartbeat, last_sample_time});
           a new opId is appended to the field opIds

The lease (leaseExpiresAt, leaseMs, lease set) is always renewed. Only a heartbeat that changes
something a reader sees (status, progress, state, statusDescription, cancellable, an op) bumps
version and updatedAt and writes an event; a pure renewal does not.

Returns
  {0, status, version, cancelRequested (0|1), leaseExpiresAt}
  {1}                 NOT_FOUND
  {3, status}         STALE_LEASE: token does not match (the task was re-queued, finished or re-claimed)
  {2, status}         WRONG_STATUS
  {7, argument}       BAD_ARGUMENT
Events
  status (reason heartbeat) when the status changed to running, else progress;
  both carry state when it changed
]]
-- @include "argInteger"
-- @include "emitEvent"
-- @include "nextVersion"

local now, leaseToken, leaseMs = ARGV[1], ARGV[2], ARGV[3]
local progress, state, statusDescription, cancellable = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local taskMaxLen = ARGV[8] ~= '' and ARGV[8] or '1000'
local shardMaxLen = ARGV[9] ~= '' and ARGV[9] or '10000'

local nowMs = argInteger(now)
if not nowMs then return {7, 'now'} end
local leaseNumber = argInteger(leaseMs)
if not leaseNumber or leaseNumber < 1 then return {7, 'leaseMs'} end
if progress ~= '' then
  local value = tonumber(progress)
  if not value or value < 0 or value > 100 then return {7, 'progress'} end
  if value % 1 == 0 then progress = string.format('%d', value) else progress = tostring(value) end
end
if cancellable ~= '' and cancellable ~= '0' and cancellable ~= '1' then return {7, 'cancellable'} end
if ARGV[8] ~= '' and not argInteger(ARGV[8]) then return {7, 'taskEventsMaxLen'} end
if ARGV[9] ~= '' and not argInteger(ARGV[9]) then return {7, 'shardEventsMaxLen'} end
if #ARGV % 2 ~= 1 then return {7, 'ops'} end

local f
if #ARGV == 9 then
  f = redis.call('HMGET', KEYS[1], 'id', 'status', 'leaseToken', 'version', 'progress', 'state',
    'statusDescription', 'cancellable', 'cancelRequested', 'leaseMs')
else
  local names = {'HMGET', KEYS[1], 'id', 'status', 'leaseToken', 'version', 'progress', 'state',
    'statusDescription', 'cancellable', 'cancelRequested', 'leaseMs', 'opIds'}
  for i = 10, #ARGV, 2 do
    if ARGV[i] == '' or string.find(ARGV[i], ' ', 1, true) then return {7, 'op id'} end
    if string.sub(ARGV[i + 1], 1, 1) ~= '{' then return {7, 'op ' .. ARGV[i]} end
    names[#names + 1] = 'op:' .. ARGV[i]
  end
  f = redis.call(unpack(names))
end
local status = f[2]
if not status then return {1} end
if leaseToken == '' or f[3] ~= leaseToken then return {3, status} end
if status ~= 'starting' and status ~= 'running' and status ~= 'impacted' and status ~= 'cancelling' then
  return {2, status}
end

local leaseExpiresAt = nowMs + leaseNumber
local expiresText = string.format('%d', leaseExpiresAt)
local write = {'HSET', KEYS[1], 'leaseExpiresAt', expiresText}
local n = 4
if f[10] ~= leaseMs then
  write[5], write[6], n = 'leaseMs', leaseMs, 6
end
local newStatus = status
if status == 'starting' or status == 'impacted' then
  newStatus = 'running'
  write[n + 1], write[n + 2], n = 'status', 'running', n + 2
end
local changed = newStatus ~= status
if progress ~= '' and progress ~= f[5] then
  write[n + 1], write[n + 2], n, changed = 'progress', progress, n + 2, true
end
local stateChanged = state ~= '' and state ~= f[6]
if stateChanged then
  write[n + 1], write[n + 2], n, changed = 'state', state, n + 2, true
end
if statusDescription ~= '' and statusDescription ~= f[7] then
  write[n + 1], write[n + 2], n, changed = 'statusDescription', statusDescription, n + 2, true
end
if cancellable ~= '' and cancellable ~= f[8] then
  write[n + 1], write[n + 2], n, changed = 'cancellable', cancellable, n + 2, true
end
if #ARGV > 9 then
  local opIds = f[11] or ''
  local newIds = opIds
  for i = 10, #ARGV, 2 do
    local current = f[12 + (i - 10) / 2]
    if current ~= ARGV[i + 1] then
      write[n + 1], write[n + 2], n, changed = 'op:' .. ARGV[i], ARGV[i + 1], n + 2, true
      if not current then newIds = newIds == '' and ARGV[i] or newIds .. ' ' .. ARGV[i] end
    end
  end
  if newIds ~= opIds then write[n + 1], write[n + 2], n = 'opIds', newIds, n + 2 end
end

local task = {id = f[1], status = newStatus, version = f[4], progress = progress ~= '' and progress or f[5]}
local version
if changed then
  version = nextVersion(task)
  write[n + 1], write[n + 2], write[n + 3], write[n + 4] = 'version', task.version, 'updatedAt', now
else
  version = tonumber(task.version)
end
redis.call(unpack(write))
redis.call('ZADD', KEYS[3], expiresText, task.id)
if changed then
  redis.call('ZADD', KEYS[4], now, task.id)
  if newStatus ~= status then
    if stateChanged then
      emitEvent(KEYS[2], KEYS[5], taskMaxLen, shardMaxLen, task, 'status', {'state', state, 'reason', 'heartbeat'})
    else
      emitEvent(KEYS[2], KEYS[5], taskMaxLen, shardMaxLen, task, 'status', {'reason', 'heartbeat'})
    end
  elseif stateChanged then
    emitEvent(KEYS[2], KEYS[5], taskMaxLen, shardMaxLen, task, 'progress', {'state', state})
  else
    emitEvent(KEYS[2], KEYS[5], taskMaxLen, shardMaxLen, task, 'progress', nil)
  end
end
local cancelRequested = 0
if f[9] == '1' then cancelRequested = 1 end
return {0, newStatus, version, cancelRequested, leaseExpiresAt}
