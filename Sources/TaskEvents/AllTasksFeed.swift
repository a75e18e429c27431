import Logging
import Synchronization
import TaskEngine

/// One event of the all-tasks feed, from shard `shard`, with the task as read right after its
/// batch (nil once gone).
public struct AllTasksEvent: Sendable {
    public var shard: Int
    public var event: TaskEvent
    public var task: TaskRecord?
}

public enum AllTasksFeedItem: Sendable {
    case events([AllTasksEvent])
    /// Entries the feed had not read yet were trimmed from a shard's stream (its MAXLEN) before it
    /// got to them: watchers must hear of the gap and re-read what they follow.
    case trimmed
    case keepAlive
}

/// Reads every shard's event stream once per change for all watchers of `GET /v1/events` on this
/// replica, like ``TaskFeed`` does for one task.
final class AllTasksFeed: Sendable {
    private struct State {
        var subscribers: [ObjectIdentifier: FeedSubscription<AllTasksFeedItem>] = [:]
        /// Where the feed has read up to; nil while no one watches.
        var positions: ShardPositions?
    }

    let doorbell = Doorbell()
    /// Events read per shard and pass.
    static let pageSize = 1000
    private let store: TaskStore
    private let watch: NotificationWatch
    private let logger: Logger
    private let state = Mutex(State())

    init(store: TaskStore, watch: NotificationWatch, logger: Logger) {
        self.store = store
        self.watch = watch
        self.logger = logger
    }

    /// Adds a watcher; when it is the first, the feed starts at every shard's newest entry, read
    /// here before the watcher reads its history, so nothing falls between the two.
    func add(_ subscription: FeedSubscription<AllTasksFeedItem>) async throws {
        if state.withLock({ $0.positions == nil }) {
            let newest = try await store.newestShardPositions()
            state.withLock { state in
                if state.positions == nil { state.positions = newest }
            }
        }
        state.withLock { $0.subscribers[ObjectIdentifier(subscription)] = subscription }
        doorbell.ring()
    }

    func remove(_ subscription: FeedSubscription<AllTasksFeedItem>) {
        state.withLock { state in
            state.subscribers[ObjectIdentifier(subscription)] = nil
            if state.subscribers.isEmpty { state.positions = nil }
        }
    }

    func endAll(_ why: String?) {
        let all = state.withLock { state in
            defer { state.subscribers.removeAll(); state.positions = nil }
            return Array(state.subscribers.values)
        }
        for subscription in all { subscription.end(why) }
    }

    /// Reads while anyone watches; waits on the doorbell (cheaply) while no one does.
    func run() async {
        var quietSince = ContinuousClock.now
        while !Task.isCancelled {
            let generation = doorbell.generation
            let known = state.withLock { $0.subscribers.isEmpty ? nil : $0.positions }
            var pageWasFull = false
            if let known {
                do {
                    // With the trim check (one XINFO per shard in the same round trip): a feed that
                    // falls a stream's MAXLEN behind (a starved replica in the full fault suite fell
                    // 30 s behind) would otherwise read on from the oldest entry left, silently.
                    let read = try await store.shardEvents(after: known, count: Self.pageSize, checkTrimmed: true)
                    pageWasFull = read.events.count >= Self.pageSize
                    if read.trimmed { broadcast(.trimmed) }
                    if !read.events.isEmpty {
                        try await deliver(read.events)
                        quietSince = ContinuousClock.now
                    }
                    // Only after delivery: when reading the tasks fails (Redis went away between the
                    // two reads), the next pass reads the same events again instead of losing them
                    // (seen in the fault suite's redis-outage scenario: a watcher silently missed 96).
                    state.withLock { state in
                        if state.positions != nil { state.positions = read.positions }
                    }
                } catch {
                    logger.debug("all-tasks feed read failed; retrying", metadata: ["error": "\(error)"])
                }
                if ContinuousClock.now - quietSince >= TaskFeed.keepAliveInterval {
                    broadcast(.keepAlive)
                    quietSince = ContinuousClock.now
                }
            }
            // A full page leaves more to read: read on at once (else a polling feed, notifications
            // off, would fall further behind a busy stream with every pass).
            if pageWasFull { continue }
            await doorbell.wait(since: generation, timeout: known == nil ? .seconds(60) : watch.safetyInterval)
        }
    }

    private func deliver(_ events: [(shard: Int, event: TaskEvent)]) async throws {
        let byId = try await store.tasksById(events.map(\.event.taskId))
        broadcast(.events(events.map { AllTasksEvent(shard: $0.shard, event: $0.event, task: byId[$0.event.taskId]) }))
    }

    private func broadcast(_ item: AllTasksFeedItem) {
        let all = state.withLock { Array($0.subscribers.values) }
        for subscription in all where !subscription.deliver(item) {
            remove(subscription)
        }
    }
}
