--[[
claim-5: hand the most urgent ready task of one commandType to a worker (queued → starting).

<s> is the shard's key prefix `<prefix>:{<prefix>:<shard>}:`, e.g. `taskd:{taskd:0}:`.

KEYS[1]  <s>queue:<commandType>   zset    ready queue to claim from
KEYS[2]  <s>delayed               zset    tasks waiting for runAt (due ones are promoted first)
KEYS[3]  <s>leases                zset    leased task ids by lease deadline
KEYS[4]  <s>index:updated         zset    all tasks by updatedAt
KEYS[5]  <s>events                stream  the shard's events

Keys declared via ARGV[2] (the ids are only known inside the script; same hash tag, same slot):
         <s>task:<id>, <s>task:<id>:events   of the claimed task and of promoted tasks
         <s>queue:<commandType>               of promoted tasks

ARGV[1]  now               ms since epoch (decimal digits)
ARGV[2]  shard             the shard's key prefix <s>; every KEYS[i] must start with it
ARGV[3]  workerId          who claims
ARGV[4]  leaseToken        fresh random token (the fencing token of this claim)
ARGV[5]  leaseMs           lease length in ms (> 0)
ARGV[6]  promoteLimit      due delayed tasks moved per call          ("" = 100)
ARGV[7]  taskEventsMaxLen                                            ("" = 1000)
ARGV[8]  shardEventsMaxLen                                           ("" = 10000)

Steps: (1) promotion of due delayed tasks (a complete housekeeping step, valid on its own);
(2) the claim: its preconditions (a queued task at the head of the queue) are all checked before
its first write. Queue entries whose task is gone or not queued are dropped while looking.

Returns
  {0, id, commandType, params, ops, attempt, maxAttempts, leaseToken, leaseExpiresAt, version}
      params as stored ("" when none); ops a JSON object opId -> op JSON ("{}" when none);
      attempt counts from 1
  {8, nextRunAt}      EMPTY: nothing ready; nextRunAt = earliest delayed runAt (ms) or ""
  {7, argument}       BAD_ARGUMENT
Events
  claimed (status starting, with attempt and workerId) on the task stream and the shard stream
]]
-- @include "argInteger"
-- @include "taskKey"
-- @include "promoteDue"
-- @include "emitEvent"
-- @include "nextVersion"

local now, shard, workerId, leaseToken, leaseMs = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local taskMaxLen = ARGV[7] ~= '' and ARGV[7] or '1000'
local shardMaxLen = ARGV[8] ~= '' and ARGV[8] or '10000'

local nowMs = argInteger(now)
if not nowMs then return {7, 'now'} end
if shard == nil or shard == '' then return {7, 'shard'} end
for i = 1, #KEYS do
  if string.find(KEYS[i], shard, 1, true) ~= 1 then return {7, 'KEYS[' .. i .. ']'} end
end
if workerId == '' then return {7, 'workerId'} end
if leaseToken == '' then return {7, 'leaseToken'} end
local leaseNumber = argInteger(leaseMs)
if not leaseNumber or leaseNumber < 1 then return {7, 'leaseMs'} end
local promoteLimit = argInteger(ARGV[6], 100)
if not promoteLimit or promoteLimit < 0 then return {7, 'promoteLimit'} end
if ARGV[7] ~= '' and not argInteger(ARGV[7]) then return {7, 'taskEventsMaxLen'} end
if ARGV[8] ~= '' and not argInteger(ARGV[8]) then return {7, 'shardEventsMaxLen'} end

if promoteLimit > 0 then promoteDue(KEYS[2], shard, now, ARGV[6] ~= '' and promoteLimit or '100') end

local id, key, f
for _ = 1, 100 do
  local head = redis.call('ZPOPMIN', KEYS[1])
  if #head == 0 then break end
  key = taskKey(shard, head[1])
  f = redis.call('HMGET', key, 'status', 'version', 'attempt', 'maxAttempts', 'startedAt', 'commandType',
    'progress', 'params', 'opIds')
  if f[1] == 'queued' then
    id = head[1]
    break
  end
end
if not id then
  local next = redis.call('ZRANGE', KEYS[2], '0', '0', 'WITHSCORES')
  return {8, next[2] or ''}
end

local task = {id = id, status = 'starting', version = f[2], progress = f[7]}
local version = nextVersion(task)
local attemptNumber = tonumber(f[3]) + 1
local attempt = string.format('%d', attemptNumber)
local leaseExpiresAt = nowMs + leaseNumber
local expiresText = string.format('%d', leaseExpiresAt)
if f[5] then
  redis.call('HSET', key, 'status', 'starting', 'attempt', attempt, 'workerId', workerId, 'leaseToken', leaseToken,
    'leaseExpiresAt', expiresText, 'leaseMs', leaseMs, 'updatedAt', now, 'version', task.version)
else
  redis.call('HSET', key, 'status', 'starting', 'attempt', attempt, 'workerId', workerId, 'leaseToken', leaseToken,
    'leaseExpiresAt', expiresText, 'leaseMs', leaseMs, 'updatedAt', now, 'version', task.version, 'startedAt', now)
end
redis.call('ZADD', KEYS[3], expiresText, id)
redis.call('ZADD', KEYS[4], now, id)
emitEvent(key .. ':events', KEYS[5], taskMaxLen, shardMaxLen, task, 'claimed', {'attempt', attempt, 'workerId', workerId})

local ops = '{}'
if f[9] then
  local names, parts = {'HMGET', key}, {}
  for opId in string.gmatch(f[9], '%S+') do names[#names + 1] = 'op:' .. opId end
  local values = redis.call(unpack(names))
  for i = 3, #names do
    parts[#parts + 1] = cjson.encode(string.sub(names[i], 4)) .. ':' .. (values[i - 2] or '{}')
  end
  ops = '{' .. table.concat(parts, ',') .. '}'
end
return {0, id, f[6], f[8] or '', ops, attemptNumber, tonumber(f[4]), leaseToken, leaseExpiresAt, version}
