-- The member of a finished task in index:finished: its id, followed by its objectName and
-- Idempotency-Key when it has either ("<id>\n<objectName>\n<idempotencyKey>"), so the retention
-- script can clean index:object and the idempotency hash after the task hash itself expired.
local function retentionMember(id, objectName, idempotencyKey)
  if not objectName and not idempotencyKey then return id end
  return id .. '\n' .. (objectName or '') .. '\n' .. (idempotencyKey or '')
end
