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
ARGV[3]  leaseMs           new lease length from now, ms (> 0); stored as the task's leaseMs
                           ("" = the task's stored leaseMs, i.e. the length it was claimed with or
                           last renewed with; see include/taskLeaseMs for the should-not-happen case
                           of none stored)
ARGV[4]  progress          number 0..100                  ("" = unchanged)
ARGV[5]  state             current state name             ("" = unchanged)
ARGV[6]  statusDescription worker's status sentence       ("" = unchanged)
ARGV[7]  cancellable       "1" | "0" (commit phase)       ("" = unchanged)
ARGV[8]  taskEventsMaxLen                                 ("" = the default, include/streamLimits)
ARGV[9]  shardEventsMaxLen                                ("" = the default, include/streamLimits)
ARGV[10..] pairs opId, opJson: each replaces field op:<opId>; a new opId is appended to the field
           opIds (in order of appearance). opId: no whitespace. opJson: a JSON object
           ({progress, op_name, status_code, status_description, snapshot}), stored with
           `"heartbeat":<s>,"last_sample_time":<s>` appended as its last members, s = floor(now / 1000)
           (seconds since the epoch, the RS pending_ops convention): `{}` is stored as
           `{"heartbeat":s,"last_sample_time":s}`, `{"progress":50}` as
           `{"progress":50,"heartbeat":s,"last_sample_time":s}`. Done on the text (a cjson round trip
           would reorder the keys). A caller that sends its own `heartbeat` / `last_sample_time`
           leaves a duplicate key; the script's stamp comes last, so it wins in every JSON parser
           that keeps the last duplicate (JSONSerialization, Foundation's JSONDecoder, Python, JS).
           Whitespace around the object is dropped.

The lease (leaseExpiresAt, the lease set, leaseMs when it changed) is always renewed. Only a
heartbeat that changes something a reader sees (status, progress, state, statusDescription,
cancellable, an op's stamped JSON) bumps version and updatedAt and writes an event; a pure renewal
does not. An op counts as changed when its stamped text differs from the stored one, so the same op
sent again in a later second is a change (its heartbeat time moved).

cancelRequested in the reply is derived: cancel-11 sets cancelRequested=1 exactly when it moves a
leased task to `cancelling`, and no leased task leaves `cancelling` except by finishing, so a leased
task has cancelRequested=1 if and only if its status is cancelling (the field is not read).

Returns
  {0, status, version, cancelRequested (0|1), leaseExpiresAt}
  {0, status, version, cancelRequested (0|1), leaseExpiresAt, commandType}
                      the same when the call changed the status (starting | impacted → running):
                      the task's commandType, read only then, for the caller's transition count
  {1}                 NOT_FOUND
  {3, status}         STALE_LEASE: token does not match (the task was re-queued, finished or re-claimed)
  {2, status}         WRONG_STATUS
  {7, argument}       BAD_ARGUMENT
  {9, opCount}        TOO_MANY_OPS: the new op ids would give the task opCount ops, more than a task
                      may have (include/opLimit); nothing written
Events
  status (reason heartbeat) when the status changed to running, else progress;
  both carry state when it changed
]]
-- @include "argInteger"
-- @include "streamLimits"
-- @include "checkLease"
-- @include "isLeased"
-- @include "taskLeaseMs"
-- @include "emitEvent"
-- @include "nextVersion"
-- @include "progressOf"
-- @include "opLimit"

-- Ops are read and written in batches of this many, so no unpack() holds an unbounded list.
local OP_BATCH = 256

local now, leaseToken, leaseMs = ARGV[1], ARGV[2], ARGV[3]
local progress, state, statusDescription, cancellable = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local argc = #ARGV

local nowMs = argInteger(now)
if not nowMs then return {7, 'now'} end
local leaseNumber
if leaseMs ~= '' then
  leaseNumber = argInteger(leaseMs)
  if not leaseNumber or leaseNumber < 1 then return {7, 'leaseMs'} end
end
if progress ~= '' then
  local value = tonumber(progress)
  if not value or not (value >= 0 and value <= 100) then return {7, 'progress'} end
  -- Stored as canonical digits. An integral 0..100 given in as many characters as its digits is
  -- already canonical, except "1e2": that test saves a string.format (0.25 µs) per heartbeat.
  if value % 1 ~= 0 then
    progress = tostring(value)
  elseif #progress ~= (value < 10 and 1 or value < 100 and 2 or 3) or (value == 100 and progress ~= '100') then
    progress = string.format('%d', value)
  end
end
if cancellable ~= '' and cancellable ~= '0' and cancellable ~= '1' then return {7, 'cancellable'} end
local taskMaxLen, shardMaxLen = streamLimits(ARGV[8], ARGV[9])
if not taskMaxLen then return {7, shardMaxLen} end
if argc % 2 ~= 1 then return {7, 'ops'} end

-- The ops, stamped: opJson[k] is the text to store for the op id ARGV[8 + 2k].
local opJson, ops = nil, (argc - 9) / 2
if ops > 0 then
  local s = string.format('%d', math.floor(nowMs / 1000))
  local stamp = '"heartbeat":' .. s .. ',"last_sample_time":' .. s .. '}'
  opJson = {}
  for k = 1, ops do
    local opId, json = ARGV[8 + 2 * k], ARGV[9 + 2 * k]
    if not string.find(opId, '^%S+$') then return {7, 'op id'} end
    local inner = string.match(json, '^%s*{(.*)}%s*$')
    if not inner then return {7, 'op ' .. opId} end
    if string.find(inner, '^%s*$') then opJson[k] = '{' .. stamp else opJson[k] = '{' .. inner .. ',' .. stamp end
  end
end

-- f[1] status, f[2] leaseToken, f[3] version, f[4] progress, f[5] leaseMs, f[6] id, then the fields
-- only needed for what this call changes (each HMGET field costs about 0.35 µs).
-- The common heartbeat (lease, maybe progress and state) reads and writes with literal calls: an
-- argument table and unpack() cost about 0.8 µs.
local simple = argc == 9 and statusDescription == '' and cancellable == ''
local f, iState, iDescription, iCancellable, iOpIds
if simple and state == '' then
  f = redis.call('HMGET', KEYS[1], 'status', 'leaseToken', 'version', 'progress', 'leaseMs', 'id')
elseif simple then
  f = redis.call('HMGET', KEYS[1], 'status', 'leaseToken', 'version', 'progress', 'leaseMs', 'id', 'state')
  iState = 7
else
  local names, n = {'HMGET', KEYS[1], 'status', 'leaseToken', 'version', 'progress', 'leaseMs', 'id',
    nil, nil, nil, nil}, 8
  if state ~= '' then n = n + 1; names[n] = 'state'; iState = n - 2 end
  if statusDescription ~= '' then n = n + 1; names[n] = 'statusDescription'; iDescription = n - 2 end
  if cancellable ~= '' then n = n + 1; names[n] = 'cancellable'; iCancellable = n - 2 end
  if ops > 0 then
    n = n + 1; names[n] = 'opIds'; iOpIds = n - 2
    for k = 1, math.min(ops, OP_BATCH) do n = n + 1; names[n] = 'op:' .. ARGV[8 + 2 * k] end
  end
  f = redis.call(unpack(names, 1, n))
end
local status = f[1]
if not status then return {1} end
local refusal = checkLease(leaseToken, f[2], status)
if refusal then return refusal end
if not isLeased(status) then return {2, status} end
-- The stored op k is f[iOpIds + k]; ops past the first batch are read into f after it.
for first = OP_BATCH + 1, ops, OP_BATCH do
  local names, n = {'HMGET', KEYS[1]}, 2
  for k = first, math.min(ops, first + OP_BATCH - 1) do n = n + 1; names[n] = 'op:' .. ARGV[8 + 2 * k] end
  local values = redis.call(unpack(names, 1, n))
  for j = 1, n - 2 do f[iOpIds + first - 1 + j] = values[j] end
end

-- Everything below is computed before the first write.
local leaseText = leaseMs
if leaseNumber == nil then
  leaseText = taskLeaseMs(f[5])
  leaseNumber = leaseText + 0
end
local leaseExpiresAt = nowMs + leaseNumber
local expiresText = string.format('%d', leaseExpiresAt)
local id, newStatus = f[6], status
if status == 'starting' or status == 'impacted' then newStatus = 'running' end
if progress == '' then progress = progressOf(f[4]) end
local changed = newStatus ~= status or progress ~= f[4]
local version, versionText, stateChanged

if simple and newStatus == status and f[5] == leaseText and (iState == nil or state == f[7]) then
  if changed then
    version, versionText = nextVersion(f[3])
    redis.call('HSET', KEYS[1], 'leaseExpiresAt', expiresText, 'progress', progress, 'version', versionText,
      'updatedAt', now)
  else
    version = (f[3] or 0) + 0
    redis.call('HSET', KEYS[1], 'leaseExpiresAt', expiresText)
  end
else
  local write, n = {'HSET', KEYS[1], 'leaseExpiresAt', expiresText,
    nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil}, 4
  if f[5] ~= leaseText then write[5], write[6], n = 'leaseMs', leaseText, 6 end
  if newStatus ~= status then write[n + 1], write[n + 2], n = 'status', newStatus, n + 2 end
  if progress ~= f[4] then write[n + 1], write[n + 2], n = 'progress', progress, n + 2 end
  stateChanged = iState ~= nil and state ~= f[iState]
  if stateChanged then
    write[n + 1], write[n + 2], n, changed = 'state', state, n + 2, true
  end
  if iDescription and statusDescription ~= f[iDescription] then
    write[n + 1], write[n + 2], n, changed = 'statusDescription', statusDescription, n + 2, true
  end
  if iCancellable and cancellable ~= f[iCancellable] then
    write[n + 1], write[n + 2], n, changed = 'cancellable', cancellable, n + 2, true
  end
  -- Changed ops go into the main HSET, up to a batch of them; the rest into further HSETs of a batch each.
  local extraWrites
  if ops > 0 then
    local opIds = f[iOpIds] or ''
    local newIds, added, count = opIds, nil, 0
    for k = 1, ops do
      local opId, current = ARGV[8 + 2 * k], f[iOpIds + k]
      if current ~= opJson[k] then
        changed, count = true, count + 1
        if count <= OP_BATCH then
          write[n + 1], write[n + 2], n = 'op:' .. opId, opJson[k], n + 2
        else
          if count % OP_BATCH == 1 then
            extraWrites = extraWrites or {}
            extraWrites[#extraWrites + 1] = {'HSET', KEYS[1]}
          end
          local batch = extraWrites[#extraWrites]
          batch[#batch + 1] = 'op:' .. opId
          batch[#batch + 1] = opJson[k]
        end
        -- The same new op twice in one call is listed once.
        if not current and not (added and added[opId]) then
          added = added or {}
          added[opId] = true
          newIds = newIds == '' and opId or newIds .. ' ' .. opId
        end
      end
    end
    if newIds ~= opIds then
      -- Checked before the first write below, so a refused heartbeat leaves the task as it was.
      local total = opCount(newIds)
      if total > MAX_OPS then return {9, string.format('%d', total)} end
      write[n + 1], write[n + 2], n = 'opIds', newIds, n + 2
    end
  end
  if changed then
    version, versionText = nextVersion(f[3])
    write[n + 1], write[n + 2], write[n + 3], write[n + 4], n = 'version', versionText, 'updatedAt', now, n + 4
  else
    version = (f[3] or 0) + 0
  end
  redis.call(unpack(write, 1, n))
  if extraWrites then
    for i = 1, #extraWrites do redis.call(unpack(extraWrites[i])) end
  end
end

-- The lease set's score may lag behind the deadline but never runs ahead of it: a renewal that keeps
-- the status and the lease length only moves the deadline later, so it leaves the score, and the
-- reaper re-scores an entry whose task renewed when that entry comes due (expire-leases-8). One
-- ZADD less on every steady heartbeat; a new length or status writes the score at once.
if newStatus ~= status or f[5] ~= leaseText then
  redis.call('ZADD', KEYS[3], expiresText, id)
end
if changed then
  redis.call('ZADD', KEYS[4], now, id)
  if newStatus ~= status then
    if stateChanged then
      emitEvent(KEYS[2], KEYS[5], taskMaxLen, shardMaxLen, id, 'status', newStatus, versionText, progress,
        'state', state, 'reason', 'heartbeat')
    else
      emitEvent(KEYS[2], KEYS[5], taskMaxLen, shardMaxLen, id, 'status', newStatus, versionText, progress,
        'reason', 'heartbeat')
    end
  elseif stateChanged then
    emitEvent(KEYS[2], KEYS[5], taskMaxLen, shardMaxLen, id, 'progress', newStatus, versionText, progress, 'state', state)
  else
    emitEvent(KEYS[2], KEYS[5], taskMaxLen, shardMaxLen, id, 'progress', newStatus, versionText, progress)
  end
end
if newStatus ~= status then
  return {0, newStatus, version, newStatus == 'cancelling' and 1 or 0, leaseExpiresAt, redis.call('HGET', KEYS[1], 'commandType')}
end
return {0, newStatus, version, newStatus == 'cancelling' and 1 or 0, leaseExpiresAt}
