import NIOCore

/// Runs a task's jobs on one event loop. An SSE stream's task runs on its connection's loop this
/// way (``onConnectionLoop(_:_:)``): a frame it writes goes to the socket at once, instead of being
/// handed from the cooperative pool to the loop for every frame, and a watcher woken by its feed
/// wakes on the loop that will write for it. The fan-out of one event to a thousand watchers was
/// mostly such hand-overs (issue 19: the live-push benchmark's profile, context switches and
/// `flushNow`).
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        eventLoop.execute { job.runSynchronously(on: executor) }
    }
}

/// `body` with its jobs on `eventLoop`.
func onConnectionLoop<T>(_ eventLoop: any EventLoop, _ body: () async throws -> T) async throws -> T {
    try await withTaskExecutorPreference(EventLoopTaskExecutor(eventLoop), operation: body)
}
