import Logging
import TaskEngine
import Tracing

/// A handler: runs one attempt of one task and returns its response (JSON text, or nil for none),
/// or throws (``TaskFailure`` for a failure of its own choosing).
public typealias TaskHandler = @Sendable (TaskContext) async throws -> String?

/// One attempt: the handler beside a heartbeat loop that renews the lease every third of it, then
/// the one write that ends the attempt, chosen by how it ended:
///
/// | handler | stopped by | write |
/// |---|---|---|
/// | returned | — or a cancel request | `complete` (a cancel that came too late loses) |
/// | threw | — | `fail` (retryable unless a `TaskFailure` says otherwise) |
/// | threw | a cancel request | `acknowledgeCancel` |
/// | any | a lost lease | nothing, ever: the lease is a fencing token |
/// | threw | shutdown | `release`: back to `queued`, no attempt spent |
struct Attempt {
    let context: TaskContext
    let handler: TaskHandler
    let heartbeatInterval: Duration

    private enum Child {
        case handler(Result<String?, any Error>)
        case heartbeats
    }

    private var store: TaskStore { context.store }
    private var logger: Logger { context.logger }
    private var task: ClaimedTask { context.task }

    /// Runs the attempt within the task's trace (``ClaimedTask/traceparent``), when it has one and a
    /// tracer is bootstrapped: its heartbeats and its finish are spans of the trace that created it.
    func run() async {
        guard let trace = TaskTracing.context(from: task.traceparent) else { return await attempt() }
        await ServiceContext.withValue(trace) { await attempt() }
    }

    private func attempt() async {
        let result = await withTaskGroup(of: Child.self) { group -> Result<String?, any Error> in
            group.addTask {
                do { return .handler(.success(try await handler(context))) } catch { return .handler(.failure(error)) }
            }
            group.addTask {
                await keepLease()
                return .heartbeats
            }
            var outcome: Result<String?, any Error> = .failure(CancellationError())
            while let child = await group.next() {
                switch child {
                case .handler(let result):
                    outcome = result
                    group.cancelAll()
                case .heartbeats:
                    // The loop ends only when the attempt must stop: cancel the handler (structured:
                    // it sees Task cancellation at its next suspension point).
                    group.cancelAll()
                }
            }
            return outcome
        }
        // The worker's own task was cancelled (not a ServiceGroup shutdown): hand the task back.
        if Task.isCancelled { context.stop.stop(.shutdown) }
        // The last write runs outside the cancelled group, so a cancelled attempt can still say how it ended.
        await Task { await finish(result) }.value
    }

    /// Renews the lease every `heartbeatInterval` until the handler returns (the group cancels this)
    /// or a stop reason is set. Redis outages are retried at the next interval; the lease's fencing
    /// keeps a late renewal harmless.
    private func keepLease() async {
        while !Task.isCancelled {
            let generation = context.stop.bell.generation
            if context.stop.current != nil { return }
            await context.stop.bell.wait(since: generation, timeout: heartbeatInterval)
            if Task.isCancelled || context.stop.current != nil { return }
            do {
                try await context.send(Heartbeat(leaseToken: task.leaseToken))
            } catch let error as TaskWorkerError {
                logger.debug("heartbeat refused", metadata: ["error": "\(error.message)"])
                return
            } catch {
                logger.debug("heartbeat failed; retrying at the next interval", metadata: ["error": "\(error)"])
            }
        }
    }

    private func finish(_ result: Result<String?, any Error>) async {
        let reason = context.stop.current
        do {
            switch (reason, result) {
            case (.leaseLost, _):
                logger.warning("lease lost: the handler was cancelled and nothing is written for this attempt")
                return
            case (_, .success(let response)):
                let done = try await store.complete(task.id, leaseToken: task.leaseToken, response: response)
                logger.info("task completed", metadata: ["task.version": "\(done.version)"])
            case (.cancelRequested, .failure):
                try await store.acknowledgeCancel(task.id, leaseToken: task.leaseToken)
                logger.info("task cancelled as asked")
            case (.shutdown, .failure):
                try await store.release(task.id, leaseToken: task.leaseToken)
                logger.info("task handed back for another worker (shutdown)")
            case (nil, .failure(let error)):
                let failure = error as? TaskFailure
                    ?? TaskFailure("handler_error", String(String(describing: error).prefix(TaskLimits.errorMessageLength.upperBound)))
                let failed = try await store.fail(
                    task.id, leaseToken: task.leaseToken, errorCode: failure.code, errorMessage: failure.message, retryable: failure.retryable)
                logger.info("task failed", metadata: ["error.code": "\(failure.code)", "task.status": "\(failed.status.rawValue)"])
            }
        } catch let error as TaskEngineError where TaskContext.meansLeaseLost(error) {
            logger.warning("the lease was lost before the attempt could end; nothing written", metadata: ["error": "\(error.message)"])
        } catch {
            // Redis away: the lease runs out and the reaper re-queues the task (a new attempt).
            logger.error("could not record how the attempt ended; the lease will expire", metadata: ["error": "\(error)"])
        }
    }
}
