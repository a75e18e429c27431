import Logging
import ServiceLifecycle
import Synchronization
import TaskEngine

/// The replica's one keyspace subscription (DESIGN.md §6): Redis says *that* a task's event
/// stream was written; the task's ``TaskFeed`` then reads what was written. One subscription per
/// replica, re-established by the Redis client after a reconnect (the `.gap` it reports makes every
/// feed look at once).
public final class TaskChangeHub: Service, Sendable {
    public let store: TaskStore
    private let logger: Logger
    private let feeds = Mutex<[String: TaskFeed]>([:])
    private let allTasks: AllTasksFeed
    private let notifications = Mutex<KeyspaceNotificationsFinding>(.on)
    private let watch = NotificationWatch()
    private let stopped = Mutex(false)
    /// Items a watcher may fall behind before it is dropped.
    public let bufferLimit: Int

    public init(store: TaskStore, bufferLimit: Int = 1000, logger: Logger = Logger(label: "taskd.events")) {
        self.store = store
        self.bufferLimit = bufferLimit
        self.logger = logger
        self.allTasks = AllTasksFeed(store: store, watch: watch, logger: logger)
    }

    /// One sentence for `/health/ready` when watchers cannot be told of changes at once.
    public var configurationProblem: String? {
        if let sentence = notifications.withLock({ $0.sentence }) { return sentence }
        guard watch.isSuspected else { return nil }
        return "Changes are being found by polling, not announced by keyspace notifications: notify-keyspace-events seems to be off; set it to include K and t (e.g. \"Kt\"). Meanwhile watchers hear of changes within about half a second."
    }

    public func run() async {
        await checkNotifications()
        await cancelWhenGracefulShutdown {
            async let allTasksFeed: Void = self.allTasks.run()
            async let suspicionChecks: Void = self.checkWhenSuspected()
            async let probes: Void = self.probeNotifications()
            var refused = false
            while !Task.isCancelled {
                do {
                    try await self.listen()
                    refused = false
                } catch {
                    if case .refused = StoreFailure(error) {
                        // Redis said no (e.g. NOPERM: the ACL user lacks the channel pattern); say so once.
                        if !refused {
                            self.logger.warning("Redis refused the keyspace subscription; watchers get changes only by polling until it is allowed", metadata: ["error": "\(error)"])
                        }
                        refused = true
                    } else {
                        self.logger.debug("keyspace subscription ended; again", metadata: ["error": "\(error)"])
                    }
                }
                try? await Task.sleep(for: .milliseconds(500))
            }
            self.watch.finish()
            await allTasksFeed
            await suspicionChecks
            await probes
        }
        stopped.withLock { $0 = true }
        let all = feeds.withLock { feeds in
            defer { feeds.removeAll() }
            return Array(feeds.values)
        }
        for feed in all { feed.endAll("taskd is shutting down") }
        allTasks.endAll("taskd is shutting down")
    }

    /// Checks (and where allowed, turns on) keyspace notifications on every master.
    private func checkNotifications() async {
        let finding = await store.ensureKeyspaceNotifications()
        let previous = notifications.withLock { notifications in
            defer { notifications = finding }
            return notifications
        }
        if let complaint = finding.sentence, finding != previous { logger.warning("\(complaint)") }
    }

    /// Feeds found changes no notification announced: check the setting again (and turn it on where
    /// allowed); until a notification arrives, feeds poll at the fallback interval.
    private func checkWhenSuspected() async {
        for await _ in watch.suspicions {
            logger.warning("keyspace notifications stopped arriving (changes were found by polling); checking notify-keyspace-events again")
            await checkNotifications()
        }
    }

    /// Every ``NotificationWatch/probeInterval``: one read of every shard's newest event id (one
    /// pipelined XREVRANGE), to tell the watch whether events were written that no notification
    /// announced.
    private func probeNotifications() async {
        var previous: ShardPositions?
        while !Task.isCancelled {
            try? await Task.sleep(for: NotificationWatch.probeInterval)
            guard let newest = try? await store.newestShardPositions() else { continue }
            if let previous { watch.probeFound(newEvents: newest != previous) }
            previous = newest
        }
    }

    /// A notification arrived: if taskd could not read the setting, it now knows it is on. Only on a
    /// standalone server: in a cluster the notification may come from one master of several.
    private func notificationArrived() {
        guard store.oneNotificationProvesSetting else { return }
        let proven = notifications.withLock { notifications -> Bool in
            guard case .unreadable = notifications else { return false }
            notifications = .on
            return true
        }
        if proven { logger.info("keyspace notifications arrive: notify-keyspace-events is on") }
    }

    private func listen() async throws {
        var heard = false
        // Only the tasks watched here: a feed made after a change it did not hear of reads from
        // the stream's start position anyway (subscribe, then read the history).
        try await store.watchChanges(ofTasks: { id in self.feeds.withLock { $0[id] != nil } }) { changes in
            for await change in changes {
                if change.isNotification, watch.notificationArrived() {
                    // The suspicion's re-check may have left "cannot check" behind: this proves them on.
                    logger.info("keyspace notifications arrive again")
                    notificationArrived()
                }
                if !heard, change.isNotification {
                    heard = true
                    notificationArrived()
                }
                switch change {
                case .anyTask:
                    allTasks.doorbell.ring()
                case .task(let id):
                    feeds.withLock { $0[id] }?.doorbell.ring()
                case .gap(let mastersChanged):
                    EventMetrics.notificationGaps.increment()
                    // A new master (a promoted replica) may not publish notifications yet: turn them on
                    // before the feeds re-read, so nothing written after their read goes unheard.
                    if mastersChanged {
                        await checkNotifications()
                        heard = false
                    }
                    for feed in feeds.withLock({ Array($0.values) }) { feed.doorbell.ring() }
                    allTasks.doorbell.ring()
                }
            }
        }
    }

    /// Watches task `id` from after its newest event: read older events with
    /// ``TaskStore/events(ofTask:after:count:checkTrimmed:)`` *after* subscribing, then skip what
    /// the feed repeats. Cancel by ending the subscription (``unsubscribe(_:from:)``).
    public func subscribe(to id: String) async throws -> FeedSubscription<TaskFeedItem> {
        let subscription = FeedSubscription<TaskFeedItem>(bufferLimit: bufferLimit)
        guard !stopped.withLock({ $0 }) else {
            subscription.end("taskd is shutting down")
            return subscription
        }
        let (feed, isNew) = feeds.withLock { feeds -> (TaskFeed, Bool) in
            let existing = feeds[id]
            let feed = existing ?? TaskFeed(taskId: id, store: store, watch: watch, logger: logger)
            feeds[id] = feed
            feed.add(subscription)
            return (feed, existing == nil)
        }
        if isNew {
            let newest: StreamID?
            do {
                newest = try await store.newestEventID(ofTask: id)
            } catch {
                unsubscribe(subscription, from: id)
                throw error
            }
            Task {
                await feed.run(startingAfter: newest) {
                    feeds.withLock { feeds in
                        guard feed.isIdle else { return false }
                        if feeds[id] === feed { feeds[id] = nil }
                        return true
                    }
                }
            }
        }
        return subscription
    }

    /// Watches every task from now on (``AllTasksFeedItem``); read older events with
    /// ``TaskStore/shardEvents(after:count:checkTrimmed:)`` after subscribing and skip repeats.
    public func subscribeToAllTasks() async throws -> FeedSubscription<AllTasksFeedItem> {
        let subscription = FeedSubscription<AllTasksFeedItem>(bufferLimit: bufferLimit)
        if stopped.withLock({ $0 }) {
            subscription.end("taskd is shutting down")
        } else {
            try await allTasks.add(subscription)
        }
        return subscription
    }

    public func unsubscribeFromAllTasks(_ subscription: FeedSubscription<AllTasksFeedItem>) {
        subscription.end(nil)
        allTasks.remove(subscription)
    }

    /// Waits until `subscription` delivers events, up to `timeout`; false on timeout or when it ended.
    public func waitForEvents(on subscription: FeedSubscription<TaskFeedItem>, timeout: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await item in subscription.stream {
                    if case .events = item { return true }
                }
                return false
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    public func unsubscribe(_ subscription: FeedSubscription<TaskFeedItem>, from id: String) {
        subscription.end(nil)
        guard let feed = feeds.withLock({ $0[id] }) else { return }
        // The feed notices it is idle at its next look and stops; ring so that is now.
        if feed.remove(subscription) { feed.doorbell.ring() }
    }
}

extension TaskChange {
    /// A message Redis published (not a gap the client reported).
    fileprivate var isNotification: Bool {
        if case .gap = self { return false }
        return true
    }
}
