-- True for the statuses in which a worker holds the task's lease (and the task is in the lease set).
local function isLeased(status)
  return status == 'running' or status == 'starting' or status == 'impacted' or status == 'cancelling'
end
