-- @include "add"
local function twice(key, amount)
  add(key, amount)
  return add(key, amount)
end
