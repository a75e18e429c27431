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
ARGV[9]  priority          integer -1000..1000, higher first  ("" = 0)
ARGV[10] maxAttempts       integer >= 1                       ("" = 1)
ARGV[11] runAt             ms; later than now = delayed start ("" = now)
ARGV[12] resultTtl         seconds a finished task is kept    ("" = 500)
ARGV[13] uniqueKey         no newline                         ("" = none)
ARGV[14] idempotencyKey    no space or newline                ("" = none)
ARGV[15] taskEventsMaxLen  MAXLEN ~ of the task stream        ("" = 1000)
ARGV[16] shardEventsMaxLen MAXLEN ~ of the shard stream       ("" = 10000)
ARGV[17..] op ids          sub-operation ids (e.g. shard ids, no spaces); each becomes field
                           op:<id> = "{}", and the field opIds lists them (space-separated)

Returns
  {0, id, 0}          created
  {0, firstId, 1}     Idempotency-Key seen before: the first task's id, nothing written
  {5, holderId}       DUPLICATE_UNIQUE: an unfinished task holds uniqueKey
  {6, id}             ALREADY_EXISTS: a task with this id exists
  {7, argument}       BAD_ARGUMENT
Events
  created (status queued) on the task stream and the shard stream
]]
-- @include "argInteger"
-- @include "queueScore"
-- @include "emitEvent"

local now, id, commandType = ARGV[1], ARGV[2], ARGV[3]
local kind = ARGV[4] ~= '' and ARGV[4] or 'task'
local description, params, objectName, nodeUid = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local priority = ARGV[9] ~= '' and ARGV[9] or '0'
local maxAttempts = ARGV[10] ~= '' and ARGV[10] or '1'
local runAt = ARGV[11]
local resultTtl = ARGV[12] ~= '' and ARGV[12] or '500'
local uniqueKey, idempotencyKey = ARGV[13], ARGV[14]
local taskMaxLen = ARGV[15] ~= '' and ARGV[15] or '1000'
local shardMaxLen = ARGV[16] ~= '' and ARGV[16] or '10000'

local nowMs = argInteger(now)
if not nowMs then return {7, 'now'} end
if not string.find(id, '^%S+$') then return {7, 'id'} end
if commandType == '' or string.find(commandType, '\n', 1, true) then return {7, 'commandType'} end
if kind ~= 'task' and kind ~= 'state-machine' then return {7, 'kind'} end
if string.find(objectName, '\n', 1, true) then return {7, 'objectName'} end
local priorityNumber = argInteger(ARGV[9], 0)
if not priorityNumber or priorityNumber < -1000 or priorityNumber > 1000 then return {7, 'priority'} end
local attemptsNumber = argInteger(ARGV[10], 1)
if not attemptsNumber or attemptsNumber < 1 then return {7, 'maxAttempts'} end
local runAtMs = argInteger(runAt, nowMs)
if not runAtMs then return {7, 'runAt'} end
local ttlNumber = argInteger(ARGV[12], 500)
if not ttlNumber or ttlNumber < 1 then return {7, 'resultTtl'} end
if string.find(uniqueKey, '\n', 1, true) then return {7, 'uniqueKey'} end
if idempotencyKey ~= '' and not string.find(idempotencyKey, '^%S+$') then return {7, 'idempotencyKey'} end
if ARGV[15] ~= '' and not argInteger(ARGV[15]) then return {7, 'taskEventsMaxLen'} end
if ARGV[16] ~= '' and not argInteger(ARGV[16]) then return {7, 'shardEventsMaxLen'} end
local shard = string.sub(KEYS[10], 1, -7)
if KEYS[1] ~= shard .. 'task:' .. id then return {7, 'KEYS[1]'} end
if KEYS[3] ~= shard .. 'queue:' .. commandType then return {7, 'KEYS[3]'} end
for i = 17, #ARGV do
  if not string.find(ARGV[i], '^%S+$') then return {7, 'op id'} end
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

local fields = {'HSET', KEYS[1], 'id', id, 'commandType', commandType, 'kind', kind, 'status', 'queued',
  'progress', '0', 'cancellable', '1', 'attempt', '0', 'maxAttempts', maxAttempts, 'priority', priority,
  'createdAt', now, 'updatedAt', now, 'resultTtl', resultTtl, 'version', '1'}
local n = #fields
if description ~= '' then fields[n + 1], fields[n + 2], n = 'description', description, n + 2 end
if params ~= '' then fields[n + 1], fields[n + 2], n = 'params', params, n + 2 end
if objectName ~= '' then fields[n + 1], fields[n + 2], n = 'objectName', objectName, n + 2 end
if nodeUid ~= '' then fields[n + 1], fields[n + 2], n = 'nodeUid', nodeUid, n + 2 end
if uniqueKey ~= '' then fields[n + 1], fields[n + 2], n = 'uniqueKey', uniqueKey, n + 2 end
if idempotencyKey ~= '' then fields[n + 1], fields[n + 2], n = 'idempotencyKey', idempotencyKey, n + 2 end
local delayed = runAtMs > nowMs
if delayed then
  fields[#fields + 1] = 'runAt'
  fields[#fields + 1] = runAt
end
if #ARGV > 16 then
  for i = 17, #ARGV do
    fields[#fields + 1] = 'op:' .. ARGV[i]
    fields[#fields + 1] = '{}'
  end
  fields[#fields + 1] = 'opIds'
  fields[#fields + 1] = table.concat(ARGV, ' ', 17)
end
redis.call(unpack(fields))

if delayed then
  redis.call('ZADD', KEYS[4], runAt, id)
else
  redis.call('ZADD', KEYS[3], queueScore(priorityNumber, nowMs), id)
end
redis.call('ZADD', KEYS[5], now, id)
redis.call('ZADD', KEYS[6], now, id)
if objectName ~= '' then redis.call('ZADD', KEYS[7], 0, objectName .. '\n' .. id) end
if uniqueKey ~= '' then redis.call('HSET', KEYS[8], uniqueKey, id) end
if idempotencyKey ~= '' then redis.call('HSET', KEYS[9], idempotencyKey, id) end

local task = {id = id, status = 'queued', version = '1', progress = '0'}
emitEvent(KEYS[2], KEYS[10], taskMaxLen, shardMaxLen, task, 'created', nil)
return {0, id, 0}
