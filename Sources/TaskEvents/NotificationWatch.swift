import Synchronization

/// Notices keyspace notifications that stopped arriving (someone ran `CONFIG SET
/// notify-keyspace-events ""`, a node restarted without its redis.conf line). Every
/// ``probeInterval`` the hub reads every shard's newest event id; new events with no notification
/// heard since the last probe are unannounced, and two such probes in a row make the replica
/// suspect notifications are off (it needs no watcher to notice; a feed catching up on a backlog
/// is no evidence, so feeds do not report). Until the next notification arrives, feeds then look
/// every ``fallbackInterval`` instead of every ``normalInterval``, the hub checks the setting again
/// (turning it on where allowed), and `/health/ready` says what is going on.
final class NotificationWatch: Sendable {
    /// Longest wait without a notification before a feed looks anyway, while notifications arrive.
    static let normalInterval: Duration = .seconds(2)
    /// The same while notifications seem off: what bounds how late a watcher learns of a change.
    static let fallbackInterval: Duration = .milliseconds(400)
    /// Unannounced finds, with no notification between them, that make notifications suspect.
    static let findsBeforeSuspicion = 2
    /// How often the hub compares the shards' newest event ids with the notifications it heard.
    static let probeInterval: Duration = .seconds(1)

    private struct State {
        var unannounced = 0
        var suspected = false
        /// Notifications since the last probe (``probeFound(newEvents:)``).
        var notificationsSinceProbe = 0
    }

    private let state = Mutex(State())
    /// Yields once each time notifications become suspect: the hub checks the setting then.
    let suspicions: AsyncStream<Void>
    private let suspicionsContinuation: AsyncStream<Void>.Continuation

    init() {
        (suspicions, suspicionsContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    var isSuspected: Bool { state.withLock { $0.suspected } }

    var safetyInterval: Duration { isSuspected ? Self.fallbackInterval : Self.normalInterval }

    /// Events were written that no notification announced.
    private func foundUnannouncedEvents() {
        let becameSuspect = state.withLock { state -> Bool in
            state.unannounced += 1
            guard !state.suspected, state.unannounced >= Self.findsBeforeSuspicion else { return false }
            state.suspected = true
            return true
        }
        if becameSuspect {
            EventMetrics.notificationGaps.increment()
            suspicionsContinuation.yield()
        }
    }

    /// A notification arrived; true when that ends a suspicion.
    @discardableResult
    func notificationArrived() -> Bool {
        state.withLock { state in
            state.unannounced = 0
            state.notificationsSinceProbe &+= 1
            defer { state.suspected = false }
            return state.suspected
        }
    }

    /// The hub's probe read every shard's newest event id: new events since its last probe with no
    /// notification in between are unannounced. Finds what a replica without watchers (no feed
    /// running) would never notice.
    func probeFound(newEvents: Bool) {
        let heard = state.withLock { state -> Bool in
            defer { state.notificationsSinceProbe = 0 }
            return state.notificationsSinceProbe > 0
        }
        if newEvents && !heard { foundUnannouncedEvents() }
    }

    func finish() { suspicionsContinuation.finish() }
}
