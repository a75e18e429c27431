-- Attempts a task is allowed: `value` (create's maxAttempts argument or the stored field), or the
-- default when it is "" or absent (HMGET reads an absent field as false). The only place the default is written.
local function maxAttemptsOf(value)
  if not value or value == '' then return '1' end
  return value
end
