-- True for the terminal statuses.
local function isFinished(status)
  return status == 'completed' or status == 'failed' or status == 'cancelled' or status == 'dismissed'
end
