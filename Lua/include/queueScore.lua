-- Score in a ready queue: higher priority first (priority -1000..1000), then first enqueued first.
-- `priority` and `enqueuedAt` (ms) may be numbers or digit strings (Lua arithmetic converts them).
-- Enqueue time counts in ms from 2024-01-01 in the low 40 bits (clamped), so scores stay exact doubles;
-- equal scores fall back to the member order (UUIDv7 ids sort by creation). Returned as decimal digits:
-- ZADD parses a string faster than Redis formats a Lua number.
local function queueScore(priority, enqueuedAt)
  local t = enqueuedAt - 1704067200000
  if t < 0 then t = 0 elseif t > 1099511627775 then t = 1099511627775 end
  return string.format('%d', (1000 - priority) * 1099511627776 + t)
end
