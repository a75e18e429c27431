-- The lease length a task has: its stored leaseMs (written by claim, replaced by a heartbeat that names
-- another length), or, should it be absent (no script leaves a leased task without it), the default
-- here: 30 s, the Swift side's default lease. The only place that default is written.
local function taskLeaseMs(stored)
  return stored or '30000'
end
