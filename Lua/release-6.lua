--[[
release-6: a worker hands its leased task back (starting/running/impacted → queued) without spending
an attempt: a graceful shutdown, not a failure. The task is claimable again at once (its runAt is
now, so the next claim's promotion step moves it into its queue), the lease is fenced, progress and
the commit phase reset as for a retry, and the op states stay so the next worker resumes. attempt
goes back by one, so the next claim gives the same attempt number again.

<s> is the shard's key prefix `<prefix>:{<prefix>:<shard>}:`, e.g. `taskd:{taskd:0}:`.

KEYS[1]  <s>task:<id>             hash    the task
KEYS[2]  <s>task:<id>:events      stream  its events
KEYS[3]  <s>leases                zset    leased task ids by lease deadline
KEYS[4]  <s>delayed               zset    tasks waiting for runAt (the released task waits here until now)
KEYS[5]  <s>index:updated         zset    all tasks by updatedAt
KEYS[6]  <s>events                stream  the shard's events

ARGV[1]  now               ms since epoch (decimal digits)
ARGV[2]  leaseToken        the token from claim
ARGV[3]  taskEventsMaxLen                                     ("" = default, include/streamLimits)
ARGV[4]  shardEventsMaxLen                                    ("" = default, include/streamLimits)

Returns
  {0, "queued", version, commandType}
  {1}                 NOT_FOUND
  {3, status}         STALE_LEASE
  {2, status}         WRONG_STATUS: not leased, or cancelling (the worker acknowledges a cancel instead)
  {7, argument}       BAD_ARGUMENT
Events
  status (status queued, reason release, retryAt = now)
]]
-- @include "argInteger"
-- @include "streamLimits"
-- @include "checkLease"
-- @include "isLeased"
-- @include "requeueTask"

local now, leaseToken = ARGV[1], ARGV[2]
local nowMs = argInteger(now)
if not nowMs then return {7, 'now'} end
local taskMaxLen, shardMaxLen = streamLimits(ARGV[3], ARGV[4])
if not taskMaxLen then return {7, shardMaxLen} end

local f = redis.call('HMGET', KEYS[1], 'status', 'version', 'leaseToken', 'id', 'attempt', 'commandType')
local status = f[1]
if not status then return {1} end
local refusal = checkLease(leaseToken, f[3], status)
if refusal then return refusal end
if not isLeased(status) or status == 'cancelling' then return {2, status} end

-- requeueTask takes fail-10's key order: hash, stream, leases, delayed, (active), updated, …, shard stream.
local k = {KEYS[1], KEYS[2], KEYS[3], KEYS[4], nil, KEYS[5], nil, nil, nil, KEYS[6]}
local c = {now, nowMs, taskMaxLen, shardMaxLen}
local attempt = tonumber(f[5] or '1') - 1
if attempt < 0 then attempt = 0 end
return {0, 'queued', requeueTask(k, c, f[4], f[2], nowMs, {'attempt', string.format('%d', attempt)}, 'release'), f[6] or ''}
