import Logging
import Synchronization
import TaskEngine

/// What a watcher of one task receives.
public enum TaskFeedItem: Sendable {
    /// New events in order, with the task as read right after them (nil once it is gone).
    case events([TaskEvent], task: TaskRecord?)
    /// Nothing happened for a while: SSE sends a comment so proxies keep the connection.
    case keepAlive
}

/// One watcher's view of a feed. Its stream ends when the watcher stops, the hub shuts down, or the
/// watcher fell `bufferLimit` items behind (``endReason`` says which) — a slow reader is dropped
/// rather than slowing the others or growing memory without bound.
public final class FeedSubscription<Item: Sendable>: Sendable {
    public let stream: AsyncStream<Item>
    let continuation: AsyncStream<Item>.Continuation
    private let reason = Mutex<(why: String?, ended: Bool)>((nil, false))

    init(bufferLimit: Int) {
        (stream, continuation) = AsyncStream.makeStream(of: Item.self, bufferingPolicy: .bufferingOldest(bufferLimit))
        EventMetrics.watchers.increment()
    }

    /// Why the stream ended early, if it did.
    public var endReason: String? { reason.withLock { $0.why } }

    /// Whether it has ended: a watcher stops writing what is still buffered then (its client
    /// resumes with Last-Event-ID and reads it from Redis), so a slow client cannot hold a
    /// shutting-down replica while a thousand buffered items drain to it.
    public var isEnded: Bool { reason.withLock { $0.ended } }

    /// Delivers `item`; false (and the stream ended) when the watcher is too far behind.
    func deliver(_ item: Item) -> Bool {
        if case .dropped = continuation.yield(item) {
            EventMetrics.slowWatchersDropped.increment()
            end("this watcher fell too far behind and was dropped; reconnect with Last-Event-ID to resume")
            return false
        }
        return true
    }

    deinit { end(nil) }

    /// Ends the stream now, with `why` as its ``endReason`` (unless it already had one).
    public func end(_ why: String?) {
        let first = reason.withLock { reason -> Bool in
            if reason.why == nil { reason.why = why }
            defer { reason.ended = true }
            return !reason.ended
        }
        if first { EventMetrics.watchers.decrement() }
        continuation.finish()
    }
}

/// Reads one task's event stream for all its watchers on this replica: one `XRANGE` (and one
/// `HGETALL`) per change, however many watch. A keyspace notification only rings its doorbell;
/// the feed reads on from the last entry it delivered, so a lost notification or a pub/sub
/// reconnect delays an event by at most ``NotificationWatch/safetyInterval`` and never loses it.
final class TaskFeed: Sendable {
    let taskId: String
    let doorbell = Doorbell()
    private let store: TaskStore
    private let watch: NotificationWatch
    private let logger: Logger
    private let subscribers = Mutex<[ObjectIdentifier: FeedSubscription<TaskFeedItem>]>([:])

    /// Idle time after which watchers get a keep-alive.
    static let keepAliveInterval: Duration = .seconds(15)

    init(taskId: String, store: TaskStore, watch: NotificationWatch, logger: Logger) {
        self.taskId = taskId
        self.store = store
        self.watch = watch
        self.logger = logger
    }

    func add(_ subscription: FeedSubscription<TaskFeedItem>) {
        subscribers.withLock { $0[ObjectIdentifier(subscription)] = subscription }
    }

    /// Removes a watcher; true when none is left.
    func remove(_ subscription: FeedSubscription<TaskFeedItem>) -> Bool {
        subscribers.withLock { subscribers in
            subscribers[ObjectIdentifier(subscription)] = nil
            return subscribers.isEmpty
        }
    }

    var isIdle: Bool { subscribers.withLock { $0.isEmpty } }

    func endAll(_ why: String?) {
        let all = subscribers.withLock { subscribers in
            defer { subscribers.removeAll() }
            return Array(subscribers.values)
        }
        for subscription in all { subscription.end(why) }
    }

    /// Runs until `shouldStop` (asked under the hub's lock, so no watcher joins a feed that stopped)
    /// or cancellation, starting after `start`, the stream's newest entry when the feed was made:
    /// each watcher catches up by itself from its own position before it reads the feed.
    func run(startingAfter start: StreamID?, shouldStop: () -> Bool) async {
        var last = start
        var quietSince = ContinuousClock.now
        while !Task.isCancelled && !shouldStop() {
            let generation = doorbell.generation
            do {
                let page = try await store.events(ofTask: taskId, after: last)
                if let newest = page.events.last {
                    // The position moves only once the page is delivered: a failed read of the task
                    // reads the same events again next time, instead of losing them.
                    let task = try await store.get(taskId)
                    broadcast(.events(page.events, task: task))
                    last = StreamID(newest.id)
                    quietSince = ContinuousClock.now
                }
            } catch {
                logger.debug("task feed read failed; retrying", metadata: ["task.id": "\(taskId)", "error": "\(error)"])
            }
            if ContinuousClock.now - quietSince >= Self.keepAliveInterval {
                broadcast(.keepAlive)
                quietSince = ContinuousClock.now
            }
            await doorbell.wait(since: generation, timeout: watch.safetyInterval)
        }
    }

    private func broadcast(_ item: TaskFeedItem) {
        let all = subscribers.withLock { Array($0.values) }
        for subscription in all where !subscription.deliver(item) {
            _ = remove(subscription)
        }
    }
}
