-- A task's progress: the stored field, or 0 when it is absent (HMGET reads it as false; create always
-- writes it, so only a damaged hash lacks it). The only place that default is written: an XADD given
-- false would fail after the script's first write.
local function progressOf(value)
  return value or '0'
end
