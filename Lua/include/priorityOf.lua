-- A task's priority: `value` (create's priority argument or the stored field), or the default when it
-- is "" or absent (HMGET reads an absent field as false). The only place the default is written.
local function priorityOf(value)
  if not value or value == '' then return '0' end
  return value
end
