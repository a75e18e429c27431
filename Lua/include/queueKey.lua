-- The ready queue of `commandType` in the shard whose key prefix is `shard` (see taskKey).
local function queueKey(shard, commandType)
  return shard .. 'queue:' .. commandType
end
