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
ARGV[2]  taskEventsMaxLen                  ("" = the default, include/streamLimits)
ARGV[3]  shardEventsMaxLen                 ("" = the default, include/streamLimits)

Returns
  {0, "dismissed", version, commandType}
  {1}                 NOT_FOUND
  {2, status}         WRONG_STATUS (409: only failed tasks can be dismissed)
  {7, argument}       BAD_ARGUMENT
Events
  status (status dismissed, reason dismiss)
]]
-- @include "argInteger"
-- @include "streamLimits"
-- @include "resultTtlOf"
-- @include "emitEvent"
-- @include "nextVersion"
-- @include "progressOf"
-- @include "applyRetention"

local now = ARGV[1]
local nowMs = argInteger(now)
if not nowMs then return {7, 'now'} end
local taskMaxLen, shardMaxLen = streamLimits(ARGV[2], ARGV[3])
if not taskMaxLen then return {7, shardMaxLen} end

local f = redis.call('HMGET', KEYS[1], 'status', 'version', 'id', 'progress', 'objectName', 'idempotencyKey', 'resultTtl', 'commandType')
local status, id = f[1], f[3]
if not status then return {1} end
if status ~= 'failed' then return {2, status} end

local expiresAt = string.format('%d', nowMs + resultTtlOf(f[7]) * 1000)
local version, versionText = nextVersion(f[2])
redis.call('HSET', KEYS[1], 'status', 'dismissed', 'version', versionText, 'updatedAt', now, 'expiresAt', expiresAt)
redis.call('ZADD', KEYS[3], now, id)
emitEvent(KEYS[2], KEYS[6], taskMaxLen, shardMaxLen, id, 'status', 'dismissed', versionText, progressOf(f[4]), 'reason', 'dismiss')
applyRetention(KEYS[1], KEYS[2], KEYS[4], KEYS[5], id, f[5], f[6], expiresAt)
return {0, 'dismissed', version, f[8] or ''}
