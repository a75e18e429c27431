import Logging
import ServiceLifecycle
import Synchronization
import TaskEngine

/// Claims tasks of the configured commandTypes and runs a handler for each, at most `concurrency` at
/// once (DESIGN.md §4.2), through the engine's Lua contract: no HTTP.
///
/// - Heartbeats are automatic (every third of the lease); every report a handler makes is its own event.
/// - A cancel request cancels the handler's Task; when it returns, the cancel is acknowledged. In the
///   commit phase (``TaskContext/enterCommitPhase()``) a plain cancel is refused by the engine.
/// - A lost lease cancels the handler, and nothing is written for that attempt again: the lease token
///   is a fencing token, so a task never completes twice.
/// - A retried attempt gets the op states of the last one (``TaskContext/previousOpStates``).
/// - On graceful shutdown it stops claiming at once, gives running handlers `shutdownGrace`, then
///   cancels them and hands their tasks back to `queued` without spending an attempt.
/// - Claims block on the engine's doorbell (no polling); Redis outages are retried with backoff and
///   logged once per outage.
public final class TaskWorker: Service, Sendable {
    public let configuration: TaskWorkerConfiguration
    private let store: TaskStore
    private let handler: TaskHandler
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var shuttingDown = false
        /// The claim each claimer is waiting on, cancelled when shutdown begins.
        var claims: [Int: Task<ClaimedTask?, any Error>] = [:]
        var running: [String: StopSignal] = [:]
        var outage = false
    }

    public init(store: TaskStore, configuration: TaskWorkerConfiguration, logger: Logger = Logger(label: "taskd.worker"), handler: @escaping TaskHandler) {
        self.store = store
        self.configuration = configuration
        self.handler = handler
        var logger = logger
        logger[metadataKey: "worker.id"] = "\(configuration.workerId)"
        self.logger = logger
    }

    /// Handlers running now.
    public var runningCount: Int { state.withLock { $0.running.count } }

    public func run() async throws {
        precondition(configuration.concurrency >= 1, "a worker needs a concurrency of at least 1")
        let slots = SlotPool(count: configuration.concurrency)
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                // The claim doorbell's ringer, for processes that do not run the engine's services.
                group.addTask { try? await self.store.readyTaskWatcher.run() }
                // A few claimers, each holding a free slot while its claim waits: one claim is a round
                // trip, so one claimer alone would cap the worker at a claim per round trip. Each
                // claimer's claim blocks on the doorbell, so an idle worker sends nothing.
                let (claimed, sink) = AsyncStream.makeStream(of: ClaimedTask.self)
                group.addTask {
                    await withTaskCancellationHandler {
                        await withDiscardingTaskGroup { claimers in
                            for index in 0..<self.configuration.claimers {
                                claimers.addTask { await self.claimLoop(index, slots: slots, into: sink) }
                            }
                        }
                    } onCancel: {
                        self.beginShutdown()
                    }
                    sink.finish()
                }
                for await task in claimed {
                    let attempt = self.attempt(for: task)
                    group.addTask {
                        await attempt.run()
                        _ = self.state.withLock { $0.running.removeValue(forKey: task.id) }
                        slots.release()
                    }
                }
            }
        } onGracefulShutdown: {
            self.beginShutdown()
        }
    }

    /// Claims while slots are free and the worker is not shutting down; each task goes to `sink`
    /// holding the slot acquired for it.
    private func claimLoop(_ index: Int, slots: SlotPool, into sink: AsyncStream<ClaimedTask>.Continuation) async {
        var backoff = Backoff()
        while !isShuttingDown, !Task.isCancelled {
            await slots.acquire()
            if isShuttingDown {
                slots.release()
                break
            }
            let claim = Task { [store, configuration] in
                try await store.claim(
                    workerId: configuration.workerId, commandTypes: configuration.commandTypes, lease: configuration.lease,
                    wait: min(configuration.claimWait, TaskStore.maximumClaimWait))
            }
            // Shutdown may have begun between the check above and here: then this claim is not in the
            // list it cancelled, so cancel it now rather than let it wait out `claimWait`.
            let cancelNow = state.withLock { state -> Bool in
                state.claims[index] = claim
                return state.shuttingDown
            }
            if cancelNow { claim.cancel() }
            let claimed: ClaimedTask?
            do {
                claimed = try await claim.value
                noteClaimsWork()
                backoff.reset()
            } catch {
                state.withLock { $0.claims[index] = nil }
                slots.release()
                noteOutage(error)
                await backoff.wait(unless: { self.isShuttingDown })
                continue
            }
            state.withLock { $0.claims[index] = nil }
            guard let claimed else {
                slots.release()
                continue
            }
            sink.yield(claimed)
        }
    }

    /// The attempt of a claimed task, registered so shutdown can reach it.
    private func attempt(for task: ClaimedTask) -> Attempt {
        let stop = StopSignal()
        let shuttingDown = state.withLock { state -> Bool in
            state.running[task.id] = stop
            return state.shuttingDown
        }
        // Claimed while shutdown began: after the grace it is handed back like the others.
        if shuttingDown { scheduleStop(stop) }
        return Attempt(
            context: TaskContext(task: task, store: store, stop: stop, logger: logger), handler: handler,
            heartbeatInterval: task.lease / 3)
    }

    /// Logs an outage once, whichever claimer meets it first.
    private func noteOutage(_ error: any Error) {
        let first = state.withLock { state -> Bool in
            defer { state.outage = true }
            return !state.outage
        }
        if first { logger.warning("cannot claim: the task store is not reachable; retrying with backoff", metadata: ["error": "\(error)"]) }
    }

    private func noteClaimsWork() {
        let recovered = state.withLock { state -> Bool in
            defer { state.outage = false }
            return state.outage
        }
        if recovered { logger.info("claims work again: Redis is back") }
    }

    private var isShuttingDown: Bool { state.withLock { $0.shuttingDown } }

    /// Stop claiming now; after the grace period, stop the handlers still running (their tasks go back).
    private func beginShutdown() {
        let (claims, first) = state.withLock { state -> ([Task<ClaimedTask?, any Error>], Bool) in
            defer { state.shuttingDown = true }
            return (Array(state.claims.values), !state.shuttingDown)
        }
        for claim in claims { claim.cancel() }
        guard first else { return }
        let running = runningCount
        logger.info("shutting down: no more claims", metadata: ["worker.running": "\(running)", "worker.grace": "\(configuration.shutdownGrace)"])
        Task { [configuration] in
            try? await Task.sleep(for: configuration.shutdownGrace)
            let left = self.state.withLock { Array($0.running.values) }
            for stop in left { stop.stop(.shutdown) }
        }
    }

    /// For a task claimed after shutdown began: stopped when the grace period of shutdown ends.
    private func scheduleStop(_ stop: StopSignal) {
        Task { [configuration] in
            try? await Task.sleep(for: configuration.shutdownGrace)
            stop.stop(.shutdown)
        }
    }

}

/// Jittered exponential backoff for claims while Redis is away: 100 ms doubling to 5 s.
struct Backoff {
    private(set) var failing = false
    private var delay: Duration = .milliseconds(100)

    mutating func reset() {
        failing = false
        delay = .milliseconds(100)
    }

    mutating func wait(unless stopped: @Sendable () -> Bool) async {
        failing = true
        let jittered = delay * Double.random(in: 0.5...1.0)
        delay = min(delay * 2, .seconds(5))
        var left = jittered
        while left > .zero, !stopped() {
            let step = min(left, .milliseconds(100))
            try? await Task.sleep(for: step)
            left -= step
        }
    }
}
