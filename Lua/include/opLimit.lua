-- The most ops a task may ever have (TaskLimits.opsCount in Swift): create refuses more, and so
-- does a heartbeat whose new op ids would take the task past it. Without a total a task grew 1,024
-- ops per heartbeat (9,001 ops, a 1.28 MB hash seen), and every read of it grew with it.
local MAX_OPS = 1024

-- The number of ids in an opIds field (space-separated; absent or "" = none), counted only when a
-- heartbeat adds ids, so the steady heartbeat never pays for it.
local function opCount(opIds)
  if not opIds or opIds == '' then return 0 end
  local _, spaces = string.gsub(opIds, ' ', '')
  return spaces + 1
end
