--[[
promote-delayed-1: move tasks whose runAt has come from the delayed set into the ready queue of their
commandType (claim-5 does the same before claiming; this is for the background promoter).

<s> is the shard's key prefix `<prefix>:{<prefix>:<shard>}:`, e.g. `taskd:{taskd:0}:`.

KEYS[1]  <s>delayed               zset    tasks waiting for runAt

Keys declared via ARGV[2] (ids and commandTypes are only known inside; same hash tag, same slot):
         <s>task:<id> (read), <s>queue:<commandType> (written)

ARGV[1]  now               ms since epoch
ARGV[2]  shard             the shard's key prefix <s>; KEYS[1] must start with it
ARGV[3]  limit             most tasks moved per call                ("" = 1000)

Returns
  {0, moved, nextRunAt}   nextRunAt: earliest runAt still waiting (ms), or ""
  {7, argument}           BAD_ARGUMENT
Events
  none (the status stays queued)
]]
-- @include "argInteger"
-- @include "promoteDue"

local now, shard = ARGV[1], ARGV[2]
if not argInteger(now) then return {7, 'now'} end
if shard == nil or shard == '' or string.find(KEYS[1], shard, 1, true) ~= 1 then return {7, 'shard'} end
local limit = '1000'
if ARGV[3] ~= '' then
  limit = argInteger(ARGV[3])
  if not limit or limit < 1 then return {7, 'limit'} end
end

local moved = promoteDue(KEYS[1], shard, now, limit)
local next = redis.call('ZRANGE', KEYS[1], '0', '0', 'WITHSCORES')
return {0, moved, next[2] or ''}
