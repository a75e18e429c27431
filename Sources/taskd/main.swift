// Configuration from flags and TASKD_* variables → Redis client, task engine, HTTP API → run until SIGTERM.
await TaskdCommand.start()
