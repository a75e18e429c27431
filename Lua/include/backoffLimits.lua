-- @include "argInteger"
-- The retry backoff from the backoffBaseMs and backoffMaxMs arguments ("" = the defaults here, the
-- only place they are written): baseMs, maxMs as numbers, or nil and the name of the bad argument.
local function backoffLimits(baseArg, maxArg)
  local baseMs = argInteger(baseArg, 1000)
  if not baseMs or baseMs < 0 then return nil, 'backoffBaseMs' end
  local maxMs = argInteger(maxArg, 300000)
  if not maxMs or maxMs < 0 then return nil, 'backoffMaxMs' end
  return baseMs, maxMs
end
