import RESP
import RedisClient

/// What a keyspace notification says: *that* something changed; readers read what through the store.
public enum TaskChange: Sendable, Hashable {
    /// Task `id`'s event stream was written.
    case task(String)
    /// A shard's event stream was written (any task of the shard changed).
    case anyTask
    /// Notifications may have been missed (a reconnect, a new master): every reader looks again.
    /// `mastersChanged` when the set of masters is not what it was, so their notification setting
    /// should be checked again (``TaskStore/ensureKeyspaceNotifications()``).
    case gap(mastersChanged: Bool)
}

extension TaskStore {
    /// Subscribes to the keyspace notifications of every task and shard event stream on every master
    /// for the duration of `body`: one subscription per replica is enough for any number of feeds.
    /// `ofTasks` says which tasks' changes are wanted (asked as each notification arrives): the
    /// others are dropped here, before they cross to `body`'s stream. Every transition on every
    /// replica is announced, and a replica whose watchers follow a few tasks (or none) would
    /// otherwise pass each announcement on to be dropped later. Shard changes always come through.
    public func watchChanges<T: Sendable>(
        ofTasks wanted: @escaping @Sendable (String) -> Bool = { _ in true },
        _ body: (AsyncStream<TaskChange>) async throws -> T
    ) async throws -> T {
        let keyspace = self.keyspace
        let router = redis.router
        let pattern = keyspace.eventsNotificationPattern(database: redis.configuration.database)
        return try await redis.subscribeOnEveryMaster(patterns: [pattern]) { events in
            let (changes, sink) = AsyncStream.makeStream(of: TaskChange.self, bufferingPolicy: .bufferingOldest(10_000))
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    var topology = router.topologyVersion
                    for await event in events {
                        switch event {
                        case .message(let message):
                            if keyspace.isShardEventsChannel(message.channel) {
                                sink.yield(.anyTask)
                            } else if let id = keyspace.taskId(fromNotificationChannel: message.channel), wanted(id) {
                                sink.yield(.task(id))
                            }
                        case .gap:
                            let now = router.topologyVersion
                            sink.yield(.gap(mastersChanged: now != topology))
                            topology = now
                        }
                    }
                    sink.finish()
                }
                defer {
                    group.cancelAll()
                    sink.finish()
                }
                return try await body(changes)
            }
        }
    }

    /// Whether one arriving notification shows that notifications are on everywhere: on a single
    /// server yes; in a cluster it may come from one master of several.
    public var oneNotificationProvesSetting: Bool { !redis.router.isCluster }
}
