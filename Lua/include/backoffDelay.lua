-- Delay before retry number `attempt` + 1: baseMs * 2^(attempt - 1), at most maxMs.
local function backoffDelay(attempt, baseMs, maxMs)
  local delay = baseMs * 2 ^ (attempt - 1)
  if delay > maxMs then delay = maxMs end
  return delay
end
