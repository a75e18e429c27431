--[[
extend-ttl-4: keep a finished task's result for `ttlSeconds` from now (CRDB `X-Result-TTL`).
For a task that has not finished yet, the value becomes its resultTtl, applied when it finishes.
Not a change a reader sees: no version bump, no event.

<s> is the shard's key prefix `<prefix>:{<prefix>:<shard>}:`, e.g. `taskd:{taskd:0}:`.

KEYS[1]  <s>task:<id>             hash    the task
KEYS[2]  <s>task:<id>:events      stream  its events
KEYS[3]  <s>index:finished        zset    finished tasks by expiry
KEYS[4]  <s>idempotency           hash    Idempotency-Key -> "<id> <expiresAt>"

ARGV[1]  now               ms since epoch (decimal digits)
ARGV[2]  ttlSeconds        integer >= 1

Returns
  {0, expiresAt}      finished: its keys now expire at expiresAt (ms)
  {0, ""}             not finished: stored as its resultTtl
  {1}                 NOT_FOUND
  {7, argument}       BAD_ARGUMENT
Events
  none
]]
-- @include "argInteger"
-- @include "isFinished"
-- @include "applyRetention"

local now, ttl = ARGV[1], ARGV[2]
local nowMs = argInteger(now)
if not nowMs then return {7, 'now'} end
local ttlSeconds = argInteger(ttl)
if not ttlSeconds or ttlSeconds < 1 then return {7, 'ttlSeconds'} end

local f = redis.call('HMGET', KEYS[1], 'id', 'status', 'objectName', 'idempotencyKey')
if not f[2] then return {1} end

if not isFinished(f[2]) then
  redis.call('HSET', KEYS[1], 'resultTtl', ttl)
  return {0, ''}
end
local expiresAt = nowMs + ttlSeconds * 1000
local expiresText = string.format('%d', expiresAt)
redis.call('HSET', KEYS[1], 'resultTtl', ttl, 'expiresAt', expiresText)
applyRetention(KEYS[1], KEYS[2], KEYS[3], KEYS[4], f[1], f[3], f[4], expiresText)
return {0, expiresAt}
