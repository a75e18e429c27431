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
ARGV[6]  promoteLimit      due delayed tasks moved per call, 0 = none ("" = 100)
ARGV[7]  taskEventsMaxLen                                    ("" = the default, include/streamLimits)
ARGV[8]  shardEventsMaxLen                                   ("" = the default, include/streamLimits)

Steps: (1) promotion of due delayed tasks (a complete housekeeping step, valid on its own);
(2) the claim: its preconditions (a queued task at the head of the queue) are all checked before
its first write. Queue entries whose task is gone or not queued are dropped while looking. Once a
task is popped, nothing can fail: its op fields (on a retried attempt) are read in batches of 256
before the hash is written, and absent fields read as their defaults.

Derived rather than read: commandType is the queue's (KEYS[1] is <s>queue:<commandType>, and a task
only ever enters the queue of its own commandType); a queued task's progress is 0 (create and every
re-queue write 0); startedAt is written on the first attempt (attempt was 0).

Returns
  {0, id, commandType, params, opIds, opStates, attempt, maxAttempts, leaseToken, leaseExpiresAt, version, traceparent}
      params as stored ("" when none);
      opIds the stored opIds field as is: the op ids given at create and added by heartbeats,
        space-separated, in order of appearance ("" when none);
      opStates "" on a first attempt (attempt was 0: no worker can have written an op yet, so the op
        fields are not read); on a retried attempt a JSON object opId -> the op JSON stored by the
        previous attempts, every op in opIds order ("{}" when none), so the worker can resume;
      attempt counts from 1
  {8, nextRunAt}      EMPTY: nothing ready; nextRunAt = earliest delayed runAt (ms) or ""
  {7, argument}       BAD_ARGUMENT
Events
  claimed (status starting, with attempt and workerId) on the task stream and the shard stream
]]
-- @include "argInteger"
-- @include "streamLimits"
-- @include "taskKey"
-- @include "taskEventsKey"
-- @include "promoteDue"
-- @include "maxAttemptsOf"
-- @include "emitEvent"
-- @include "nextVersion"

-- Op fields are read in batches of this many, so no unpack() holds an unbounded list.
local OP_BATCH = 256

local now, shard, workerId, leaseToken, leaseMs = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]

local nowMs = argInteger(now)
if not nowMs then return {7, 'now'} end
if shard == nil or shard == '' then return {7, 'shard'} end
for i = 1, #KEYS do
  if string.find(KEYS[i], shard, 1, true) ~= 1 then return {7, 'KEYS[' .. i .. ']'} end
end
if string.find(KEYS[1], 'queue:', #shard + 1, true) ~= #shard + 1 then return {7, 'KEYS[1]'} end
if workerId == '' then return {7, 'workerId'} end
if leaseToken == '' then return {7, 'leaseToken'} end
local leaseNumber = argInteger(leaseMs)
if not leaseNumber or leaseNumber < 1 then return {7, 'leaseMs'} end
local promoteLimit = '100'
if ARGV[6] ~= '' then
  promoteLimit = argInteger(ARGV[6])
  if not promoteLimit or promoteLimit < 0 then return {7, 'promoteLimit'} end
end
local taskMaxLen, shardMaxLen = streamLimits(ARGV[7], ARGV[8])
if not taskMaxLen then return {7, shardMaxLen} end

if promoteLimit ~= 0 then promoteDue(KEYS[2], shard, now, promoteLimit) end

-- f[1] status, f[2] version, f[3] attempt, f[4] maxAttempts, f[5] params, f[6] opIds
local id, key, f
for _ = 1, 100 do
  local head = redis.call('ZPOPMIN', KEYS[1])
  if not head[1] then break end
  key = taskKey(shard, head[1])
  f = redis.call('HMGET', key, 'status', 'version', 'attempt', 'maxAttempts', 'params', 'opIds', 'traceparent')
  if f[1] == 'queued' then
    id = head[1]
    break
  end
end
if not id then
  local next = redis.call('ZRANGE', KEYS[2], '0', '0', 'WITHSCORES')
  return {8, next[2] or ''}
end

local attempt = f[3] or '0'
local opIds, opStates = f[6] or '', ''
if attempt ~= '0' then
  -- A retried attempt: what the previous attempts reported for each op, in opIds order.
  local parts, count = {}, 0
  local names, n = {'HMGET', key}, 2
  local function flush()
    local values = redis.call(unpack(names, 1, n))
    for j = 3, n do
      count = count + 1
      parts[count] = cjson.encode(string.sub(names[j], 4)) .. ':' .. (values[j - 2] or '{}')
    end
    n = 2
  end
  for opId in string.gmatch(opIds, '%S+') do
    n = n + 1
    names[n] = 'op:' .. opId
    if n - 2 == OP_BATCH then flush() end
  end
  if n > 2 then flush() end
  opStates = '{' .. table.concat(parts, ',') .. '}'
end
local attemptNumber = attempt + 1
local attemptText = string.format('%d', attemptNumber)
local version, versionText = nextVersion(f[2])
local leaseExpiresAt = nowMs + leaseNumber
local expiresText = string.format('%d', leaseExpiresAt)

if attempt == '0' then
  redis.call('HSET', key, 'status', 'starting', 'version', versionText, 'updatedAt', now, 'attempt', attemptText,
    'leaseToken', leaseToken, 'leaseMs', leaseMs, 'leaseExpiresAt', expiresText, 'workerId', workerId, 'startedAt', now)
else
  redis.call('HSET', key, 'status', 'starting', 'version', versionText, 'updatedAt', now, 'attempt', attemptText,
    'leaseToken', leaseToken, 'leaseMs', leaseMs, 'leaseExpiresAt', expiresText, 'workerId', workerId)
end
redis.call('ZADD', KEYS[3], expiresText, id)
redis.call('ZADD', KEYS[4], now, id)
emitEvent(taskEventsKey(key), KEYS[5], taskMaxLen, shardMaxLen, id, 'claimed', 'starting', versionText, '0',
  'attempt', attemptText, 'workerId', workerId)
return {0, id, string.sub(KEYS[1], #shard + 7), f[5] or '', opIds, opStates, attemptNumber,
  maxAttemptsOf(f[4]) + 0, leaseToken, leaseExpiresAt, version, f[7] or ''}
