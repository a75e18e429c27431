-- Seconds a finished task is kept: `value` (create's resultTtl argument or the stored field), or the
-- default when it is "" or absent (HMGET reads an absent field as false). The only place the default is written.
local function resultTtlOf(value)
  if not value or value == '' then return '500' end
  return value
end
