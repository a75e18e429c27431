--[[
dismiss-6: an operator dismisses a failed task (failed → dismissed). Its result TTL restarts now.

<s> is the shard's key prefix `<prefix>:{<prefix>:<shard>}:`, e.g. `taskd:{taskd:0}:`.

KEYS[1]  <s>task:<id>             hash    the task
KEYS[2]  <s>task:<id>:events      stream  its events
KEYS[3]  <s>index:updated         zset    all tasks by updatedAt
KEYS[4]  <s>index:finished        zset    finished tasks by expiry
KEYS[5]  <s>idempotency           hash    Idempotency-Key -> "<id> <expiresAt>"
KEYS[6]  <s>events                stream  the shard's events

ARGV[1]  now               ms since epoch (decimal digits)
ARGV[2]  taskEventsMaxLen                                  ("" = 1000)
ARGV[3]  shardEventsMaxLen                                 ("" = 10000)

Returns
  {0, "dismissed", version}
  {1}                 NOT_FOUND
  {2, status}         WRONG_STATUS (409: only failed tasks can be dismissed)
  {7, argument}       BAD_ARGUMENT
Events
  status (status dismissed, reason dismiss)
]]
-- @include "argInteger"
-- @include "emitEvent"
-- @include "nextVersion"
-- @include "applyRetention"

local now = ARGV[1]
local taskMaxLen = ARGV[2] ~= '' and ARGV[2] or '1000'
local shardMaxLen = ARGV[3] ~= '' and ARGV[3] or '10000'
local nowMs = argInteger(now)
if not nowMs then return {7, 'now'} end
if ARGV[2] ~= '' and not argInteger(ARGV[2]) then return {7, 'taskEventsMaxLen'} end
if ARGV[3] ~= '' and not argInteger(ARGV[3]) then return {7, 'shardEventsMaxLen'} end

local f = redis.call('HMGET', KEYS[1], 'id', 'status', 'version', 'progress', 'objectName', 'idempotencyKey',
  'resultTtl')
local task = {id = f[1], status = f[2], version = f[3], progress = f[4], objectName = f[5], idempotencyKey = f[6]}
if not task.status then return {1} end
if task.status ~= 'failed' then return {2, task.status} end

local expiresAt = string.format('%d', nowMs + tonumber(f[7] or '500') * 1000)
task.status = 'dismissed'
local version = nextVersion(task)
redis.call('HSET', KEYS[1], 'status', 'dismissed', 'updatedAt', now, 'expiresAt', expiresAt, 'version', task.version)
redis.call('ZADD', KEYS[3], now, task.id)
emitEvent(KEYS[2], KEYS[6], taskMaxLen, shardMaxLen, task, 'status', {'reason', 'dismiss'})
applyRetention(KEYS[1], KEYS[2], KEYS[4], KEYS[5], task, expiresAt)
return {0, 'dismissed', version}
