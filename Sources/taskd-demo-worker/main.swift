// Configuration from flags and TASKD_* variables → Redis client, task engine, TaskWorker → run until SIGTERM.
await DemoWorkerCommand.start()
