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

    /// Notifications since the last probe; the only thing a notification touches (one atomic add on
    /// the live-push path, no lock).
    private let notificationsSinceProbe = Atomic<Int>(0)
    private let suspected = Atomic<Bool>(false)
    /// Probes in a row that saw new events and heard no notification; only the probe touches it.
    private let unannounced = Mutex(0)
    /// Yields once each time notifications become suspect: the hub checks the setting then.
    let suspicions: AsyncStream<Void>
    private let suspicionsContinuation: AsyncStream<Void>.Continuation

    init() {
        (suspicions, suspicionsContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    var isSuspected: Bool { suspected.load(ordering: .relaxed) }

    var safetyInterval: Duration { isSuspected ? Self.fallbackInterval : Self.normalInterval }

    /// A notification arrived; true when that ends a suspicion.
    @discardableResult
    func notificationArrived() -> Bool {
        notificationsSinceProbe.add(1, ordering: .relaxed)
        return isSuspected && suspected.exchange(false, ordering: .relaxed)
    }

    /// The hub's probe read every shard's newest event id: new events since its last probe with no
    /// notification in between are unannounced. Finds what a replica without watchers (no feed
    /// running) would never notice.
    func probeFound(newEvents: Bool) {
        let heard = notificationsSinceProbe.exchange(0, ordering: .relaxed) > 0
        let becameSuspect = unannounced.withLock { unannounced -> Bool in
            if heard {
                unannounced = 0
                return false
            }
            guard newEvents else { return false }
            unannounced += 1
            return unannounced >= Self.findsBeforeSuspicion && !suspected.exchange(true, ordering: .relaxed)
        }
        if becameSuspect {
            EventMetrics.notificationGaps.increment()
            suspicionsContinuation.yield()
        }
    }

    func finish() { suspicionsContinuation.finish() }
}
