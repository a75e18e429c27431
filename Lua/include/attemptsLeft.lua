-- @include "maxAttemptsOf"
-- Whether a leased task may have another attempt: its attempt (written by its claim; should it be
-- absent, it reads as the first) is below its maxAttempts (absent = the default). Returns that and
-- the attempt as a number (for the backoff).
local function attemptsLeft(attempt, maxAttempts)
  local number = (attempt or '1') + 0
  return number < maxAttemptsOf(maxAttempts) + 0, number
end
