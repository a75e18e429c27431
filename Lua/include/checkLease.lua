-- The fencing test of every call a worker makes with its lease token: the STALE_LEASE refusal
-- {3, status} when `leaseToken` is empty or not the task's stored one (`stored`, nil when absent: the
-- task was re-queued, fenced by a finish ("") or re-claimed with another token), else nil.
-- Usage: local refusal = checkLease(ARGV[2], f[3], status) if refusal then return refusal end
local function checkLease(leaseToken, stored, status)
  if leaseToken == '' or leaseToken ~= stored then return {3, status} end
  return nil
end
