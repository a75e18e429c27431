-- The version after `version` (the stored field, digits; absent reads as 0): returns it as a number
-- (for replies) and as canonical digits (for the hash and events).
local function nextVersion(version)
  local number = (version or '0') + 1
  return number, string.format('%d', number)
end
