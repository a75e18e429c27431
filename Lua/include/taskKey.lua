-- The hash key of task `id` in the shard whose key prefix (`<prefix>:{<prefix>:<s>}:`) is `shard`.
-- Only scripts that find task ids inside Redis (queues, lease set, delayed set) use it; the task's
-- event stream is taskEventsKey of it. The hash tag lives in `shard`, so the key is in its slot.
local function taskKey(shard, id)
  return shard .. 'task:' .. id
end
