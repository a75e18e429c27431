-- An integral number argument: the number, `default` when the argument is empty or absent, nil when
-- it is not an integral number.
local function argInteger(value, default)
  if value == nil or value == '' then return default end
  local number = tonumber(value)
  if not number or number % 1 ~= 0 then return nil end
  return number
end
