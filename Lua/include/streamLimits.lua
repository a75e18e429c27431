-- The MAXLEN ~ of the task stream and of the shard stream, from the taskEventsMaxLen and
-- shardEventsMaxLen arguments ("" = the default here; the only place the defaults are written).
-- Returns taskMaxLen, shardMaxLen (decimal digits, passed to XADD as strings), or nil and the name of
-- the malformed argument. A limit must be a positive integer in canonical digits (no sign, no leading
-- zero, at most 18 digits): exactly what XADD accepts, so an XADD can never fail halfway through a
-- script, and what emitEvent's digit-string comparison needs. Swift passes its configured limits: an
-- argument equal to the default skips the pattern (Lua strings are interned, so == is a pointer test).
local function streamLimits(taskArg, shardArg)
  local taskMaxLen, shardMaxLen = '1000', '10000'
  if taskArg ~= '' and taskArg ~= taskMaxLen then
    if #taskArg > 18 or not string.find(taskArg, '^[1-9]%d*$') then return nil, 'taskEventsMaxLen' end
    taskMaxLen = taskArg
  end
  if shardArg ~= '' and shardArg ~= shardMaxLen then
    if #shardArg > 18 or not string.find(shardArg, '^[1-9]%d*$') then return nil, 'shardEventsMaxLen' end
    shardMaxLen = shardArg
  end
  return taskMaxLen, shardMaxLen
end
