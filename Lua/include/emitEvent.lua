-- Appends one event to the task's stream and to the shard's stream (both trimmed with MAXLEN ~).
-- `task` holds id, status, version (string) and progress after the change; `extra` is nil or a flat
-- list {field, value, ...} added to both entries. Shard entries carry the task id first.
local function emitEvent(taskStream, shardStream, taskMaxLen, shardMaxLen, task, kind, extra)
  if not extra then
    redis.call('XADD', taskStream, 'MAXLEN', '~', taskMaxLen, '*',
      'kind', kind, 'status', task.status, 'version', task.version, 'progress', task.progress)
    redis.call('XADD', shardStream, 'MAXLEN', '~', shardMaxLen, '*', 'id', task.id,
      'kind', kind, 'status', task.status, 'version', task.version, 'progress', task.progress)
    return
  end
  redis.call('XADD', taskStream, 'MAXLEN', '~', taskMaxLen, '*',
    'kind', kind, 'status', task.status, 'version', task.version, 'progress', task.progress, unpack(extra))
  redis.call('XADD', shardStream, 'MAXLEN', '~', shardMaxLen, '*', 'id', task.id,
    'kind', kind, 'status', task.status, 'version', task.version, 'progress', task.progress, unpack(extra))
end
