--[[
create-10: create a task (→ queued), honouring Idempotency-Key and uniqueKey.

<s> is the shard's key prefix `<prefix>:{<prefix>:<shard>}:`, e.g. `taskd:{taskd:0}:`.

KEYS[1]  <s>task:<id>                 hash    the new task
KEYS[2]  <s>task:<id>:events          stream  its events
KEYS[3]  <s>queue:<commandType>       zset    ready queue of its commandType
KEYS[4]  <s>delayed                   zset    tasks waiting for runAt
KEYS[5]  <s>index:updated             zset    all tasks by updatedAt
KEYS[6]  <s>index:active              zset    unfinished tasks by createdAt
KEYS[7]  <s>index:object              zset    "<objectName>\n<id>", score 0 (lexicographic)
KEYS[8]  <s>unique                    hash    uniqueKey -> id of the unfinished task holding it
KEYS[9]  <s>idempotency               hash    Idempotency-Key -> "<id>" or "<id> <expiresAt>"
KEYS[10] <s>events                    stream  the shard's events

ARGV[1]  now               ms since epoch (decimal digits)
ARGV[2]  id                task id (no spaces or newlines)
ARGV[3]  commandType       non-empty, no newline
ARGV[4]  kind              "task" | "state-machine"           ("" = task)
ARGV[5]  description       free text                          ("" = none)
ARGV[6]  params            JSON text, stored as given         ("" = none)
ARGV[7]  objectName        e.g. "bdb:1", no newline           ("" = none)
ARGV[8]  nodeUid                                              ("" = none)
ARGV[9]  priority          integer -1000..1000, higher first  ("" = default, include/priorityOf)
ARGV[10] maxAttempts       integer >= 1                       ("" = default, include/maxAttemptsOf)
ARGV[11] runAt             ms; later than now = delayed start ("" = now)
ARGV[12] resultTtl         seconds a finished task is kept    ("" = default, include/resultTtlOf)
ARGV[13] uniqueKey         no newline                         ("" = none)
ARGV[14] idempotencyKey    no space or newline                ("" = none)
ARGV[15] taskEventsMaxLen  MAXLEN ~ of the task stream        ("" = default, include/streamLimits)
ARGV[16] shardEventsMaxLen MAXLEN ~ of the shard stream       ("" = default, include/streamLimits)
ARGV[17] traceparent       W3C trace context of the request that created it  ("" = none)
ARGV[18..] op ids          sub-operation ids (e.g. shard ids, no whitespace, each once); each becomes
                           field op:<id> = "{}", and the field opIds lists them (space-separated, in
                           this order)

Hash fields are written hottest first: a listpack hash finds a field by scanning from the start, so
the fields every heartbeat reads or writes (status, version, progress, updatedAt, id) come first.

Returns
  {0, id, 0}          created
  {0, firstId, 1}     Idempotency-Key seen before: the first task's id, nothing written
  {5, holderId}       DUPLICATE_UNIQUE: an unfinished task holds uniqueKey
  {6, id}             ALREADY_EXISTS: a task with this id exists
  {7, argument}       BAD_ARGUMENT
  {9, opCount}        TOO_MANY_OPS: more op ids than a task may have (include/opLimit), nothing written
Events
  created (status queued) on the task stream and the shard stream
]]
-- @include "argInteger"
-- @include "streamLimits"
-- @include "taskKey"
-- @include "queueKey"
-- @include "queueScore"
-- @include "priorityOf"
-- @include "maxAttemptsOf"
-- @include "resultTtlOf"
-- @include "emitEvent"
-- @include "opLimit"

-- Op fields are written in batches of this many, so no unpack() holds an unbounded list.
local OP_BATCH = 256
-- ARGV index of the first op id.
local FIRST_OP = 18

local now, id, commandType = ARGV[1], ARGV[2], ARGV[3]
local kind = ARGV[4] ~= '' and ARGV[4] or 'task'
local description, params, objectName, nodeUid = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local priority, maxAttempts, runAt = priorityOf(ARGV[9]), maxAttemptsOf(ARGV[10]), ARGV[11]
local resultTtl = resultTtlOf(ARGV[12])
local uniqueKey, idempotencyKey = ARGV[13], ARGV[14]
local traceparent = ARGV[17] or ''
local argc = #ARGV

local nowMs = argInteger(now)
if not nowMs then return {7, 'now'} end
if not string.find(id, '^%S+$') then return {7, 'id'} end
if commandType == '' or string.find(commandType, '\n', 1, true) then return {7, 'commandType'} end
if kind ~= 'task' and kind ~= 'state-machine' then return {7, 'kind'} end
if string.find(objectName, '\n', 1, true) then return {7, 'objectName'} end
-- The defaults are valid: only given values are checked.
if ARGV[9] ~= '' then
  local number = argInteger(priority)
  if not number or number < -1000 or number > 1000 then return {7, 'priority'} end
end
if ARGV[10] ~= '' then
  local number = argInteger(maxAttempts)
  if not number or number < 1 then return {7, 'maxAttempts'} end
end
local runAtMs = argInteger(runAt, nowMs)
if not runAtMs then return {7, 'runAt'} end
if ARGV[12] ~= '' then
  local number = argInteger(resultTtl)
  if not number or number < 1 then return {7, 'resultTtl'} end
end
if string.find(uniqueKey, '\n', 1, true) then return {7, 'uniqueKey'} end
if idempotencyKey ~= '' and not string.find(idempotencyKey, '^%S+$') then return {7, 'idempotencyKey'} end
if #traceparent > 55 or not string.find(traceparent, '^[%x%-]*$') then return {7, 'traceparent'} end
local taskMaxLen, shardMaxLen = streamLimits(ARGV[15], ARGV[16])
if not taskMaxLen then return {7, shardMaxLen} end
local shard = string.sub(KEYS[10], 1, -7)
if KEYS[1] ~= taskKey(shard, id) then return {7, 'KEYS[1]'} end
if KEYS[3] ~= queueKey(shard, commandType) then return {7, 'KEYS[3]'} end
if argc - FIRST_OP + 1 > MAX_OPS then return {9, string.format('%d', argc - FIRST_OP + 1)} end
if argc >= FIRST_OP then
  local seen = {}
  for i = FIRST_OP, argc do
    if not string.find(ARGV[i], '^%S+$') or seen[ARGV[i]] then return {7, 'op id'} end
    seen[ARGV[i]] = true
  end
end

if idempotencyKey ~= '' then
  local holder = redis.call('HGET', KEYS[9], idempotencyKey)
  if holder then
    local firstId, expiresAt = string.match(holder, '^(%S+) ?(%d*)$')
    if expiresAt == '' or tonumber(expiresAt) > nowMs then return {0, firstId, 1} end
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then return {6, id} end
if uniqueKey ~= '' then
  local holder = redis.call('HGET', KEYS[8], uniqueKey)
  if holder then return {5, holder} end
end

local delayed = runAtMs > nowMs
local fields, n = {'HSET', KEYS[1], 'status', 'queued', 'version', '1', 'progress', '0', 'updatedAt', now, 'id', id,
  'attempt', '0', 'maxAttempts', maxAttempts, 'resultTtl', resultTtl, 'cancellable', '1', 'commandType', commandType,
  'kind', kind, 'priority', priority, 'createdAt', now,
  nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil}, 28
if description ~= '' then fields[n + 1], fields[n + 2], n = 'description', description, n + 2 end
if params ~= '' then fields[n + 1], fields[n + 2], n = 'params', params, n + 2 end
if objectName ~= '' then fields[n + 1], fields[n + 2], n = 'objectName', objectName, n + 2 end
if nodeUid ~= '' then fields[n + 1], fields[n + 2], n = 'nodeUid', nodeUid, n + 2 end
if uniqueKey ~= '' then fields[n + 1], fields[n + 2], n = 'uniqueKey', uniqueKey, n + 2 end
if idempotencyKey ~= '' then fields[n + 1], fields[n + 2], n = 'idempotencyKey', idempotencyKey, n + 2 end
if delayed then fields[n + 1], fields[n + 2], n = 'runAt', runAt, n + 2 end
if traceparent ~= '' then fields[n + 1], fields[n + 2], n = 'traceparent', traceparent, n + 2 end
if argc >= FIRST_OP then fields[n + 1], fields[n + 2], n = 'opIds', table.concat(ARGV, ' ', FIRST_OP), n + 2 end
redis.call(unpack(fields, 1, n))
for first = FIRST_OP, argc, OP_BATCH do
  local ops, m = {'HSET', KEYS[1]}, 2
  for i = first, math.min(argc, first + OP_BATCH - 1) do ops[m + 1], ops[m + 2], m = 'op:' .. ARGV[i], '{}', m + 2 end
  redis.call(unpack(ops, 1, m))
end

if delayed then
  redis.call('ZADD', KEYS[4], runAt, id)
else
  redis.call('ZADD', KEYS[3], queueScore(priority, nowMs), id)
end
redis.call('ZADD', KEYS[5], now, id)
redis.call('ZADD', KEYS[6], now, id)
if objectName ~= '' then redis.call('ZADD', KEYS[7], '0', objectName .. '\n' .. id) end
if uniqueKey ~= '' then redis.call('HSET', KEYS[8], uniqueKey, id) end
if idempotencyKey ~= '' then redis.call('HSET', KEYS[9], idempotencyKey, id) end

emitEvent(KEYS[2], KEYS[10], taskMaxLen, shardMaxLen, id, 'created', 'queued', '1', '0')
return {0, id, 0}
