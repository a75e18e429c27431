-- Bumps task.version (a string read from the hash) to the next integer, as a string of digits.
-- Returns the new version as a number (for replies).
local function nextVersion(task)
  local version = tonumber(task.version) + 1
  task.version = string.format('%d', version)
  return version
end
