-- @include "taskKey"
-- @include "queueKey"
-- @include "queueScore"
-- @include "priorityOf"
-- Moves up to `limit` tasks whose runAt has come (score <= now) from the delayed set into the ready
-- queue of their commandType, in runAt order. Entries whose task is gone or no longer queued are
-- dropped. `now` (digits) and `limit` (digits) are passed to Redis as given: a string costs less than
-- a Lua number, which Redis formats first. Returns the number of tasks moved.
local function promoteDue(delayedKey, shard, now, limit)
  local due = redis.call('ZRANGEBYSCORE', delayedKey, '-inf', now, 'WITHSCORES', 'LIMIT', '0', limit)
  local moved = 0
  for i = 1, #due, 2 do
    local id = due[i]
    local task = redis.call('HMGET', taskKey(shard, id), 'status', 'commandType', 'priority')
    if task[1] == 'queued' and task[2] then
      redis.call('ZADD', queueKey(shard, task[2]), queueScore(priorityOf(task[3]), due[i + 1]), id)
      moved = moved + 1
    end
    redis.call('ZREM', delayedKey, id)
  end
  return moved
end
