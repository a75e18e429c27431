-- The event stream of the task whose hash key is `taskKey` (see taskKey): the only place that spells
-- the ":events" suffix for a key derived inside a script.
local function taskEventsKey(taskKey)
  return taskKey .. ':events'
end
