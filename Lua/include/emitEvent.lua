-- Appends one event to the task's stream and to the shard's stream. Task stream entries hold
-- `kind status version progress`, shard entries put `id` first; `...` is the extras, field/value
-- pairs appended to both. `version` and the limits are canonical digit strings (see streamLimits).
-- Every event bumps the task's version (create writes version 1 with its first event), so the task
-- stream holds at most `version` entries: while version <= taskMaxLen, MAXLEN ~ could not trim
-- anything and the XADD goes without it (about 0.3 µs less). Compared as digit strings: fewer
-- digits is smaller. The shard stream is always trimmed (MAXLEN ~: whole nodes only, cheap).
local function emitEvent(taskStream, shardStream, taskMaxLen, shardMaxLen, id, kind, status, version, progress, ...)
  if #version < #taskMaxLen or (#version == #taskMaxLen and version <= taskMaxLen) then
    redis.call('XADD', taskStream, '*', 'kind', kind, 'status', status, 'version', version, 'progress', progress, ...)
  else
    redis.call('XADD', taskStream, 'MAXLEN', '~', taskMaxLen, '*',
      'kind', kind, 'status', status, 'version', version, 'progress', progress, ...)
  end
  redis.call('XADD', shardStream, 'MAXLEN', '~', shardMaxLen, '*', 'id', id,
    'kind', kind, 'status', status, 'version', version, 'progress', progress, ...)
end
