import Synchronization

/// Wakes every waiter when rung. A waiter passes the generation it saw before it last looked for
/// work, so a ring between its look and its wait is never missed.
public final class Doorbell: Sendable {
    private struct State {
        var generation: UInt64 = 0
        /// Running watchers that ring this bell; without one, waiters must look again by themselves.
        var watchers = 0
        var nextWaiter = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        /// Waiters that have an id but have not registered their continuation yet.
        var unregistered: Set<Int> = []
        /// Of those, the ones cancelled already.
        var cancelled: Set<Int> = []
        /// Watchers waiting for a waiter to arrive (``waitForWaiter()``), resumed when one does.
        var idleWatchers: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    public init() {}

    public var generation: UInt64 { state.withLock { $0.generation } }

    var isWatched: Bool { state.withLock { $0.watchers > 0 } }

    /// Runs `body` as a watcher of this bell; waiters may sleep longer while it runs.
    func watch<T>(_ body: () async throws -> T) async rethrows -> T {
        state.withLock { $0.watchers += 1 }
        defer {
            state.withLock { $0.watchers -= 1 }
            ring()
        }
        return try await body()
    }

    public func ring() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.generation &+= 1
            defer { state.waiters.removeAll(keepingCapacity: true) }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the bell rang after `generation` was read, when `timeout` passes, or on cancellation.
    public func wait(since generation: UInt64, timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForRing(since: generation) }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    /// Whether anybody waits for a ring now.
    var hasWaiters: Bool { state.withLock { !$0.waiters.isEmpty || !$0.unregistered.isEmpty } }

    /// Returns once somebody waits for a ring (at once if somebody does), or on cancellation: a
    /// watcher need not read what would ring a bell nobody listens to.
    func waitForWaiter() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state -> Bool in
                    if !state.waiters.isEmpty || !state.unregistered.isEmpty || Task.isCancelled { return true }
                    state.idleWatchers.append(continuation)
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let idle = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                defer { state.idleWatchers.removeAll() }
                return state.idleWatchers
            }
            for watcher in idle { watcher.resume() }
        }
    }

    private func waitForRing(since generation: UInt64) async {
        let (id, idle) = state.withLock { state -> (Int, [CheckedContinuation<Void, Never>]) in
            state.nextWaiter &+= 1
            state.unregistered.insert(state.nextWaiter)
            defer { state.idleWatchers.removeAll() }
            return (state.nextWaiter, state.idleWatchers)
        }
        for watcher in idle { watcher.resume() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    state.unregistered.remove(id)
                    if state.cancelled.remove(id) != nil || state.generation != generation { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
                if let continuation = state.waiters.removeValue(forKey: id) { return continuation }
                if state.unregistered.contains(id) { state.cancelled.insert(id) }
                return nil
            }
            continuation?.resume()
        }
    }
}
