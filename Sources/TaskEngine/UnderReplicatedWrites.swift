import Logging
import Synchronization

/// Transitions that returned before as many replicas as configured acknowledged them (`WAIT`
/// timed out): they happened on the master, but a failover now could lose them.
public final class UnderReplicatedWrites: Sendable {
    private struct State {
        var count = 0
        var lastWarning: ContinuousClock.Instant?
        var sinceWarning = 0
    }

    private let state = Mutex(State())

    /// How many so far.
    public var count: Int { state.withLock { $0.count } }

    func note(acknowledged: Int, wanted: Int, logger: Logger) {
        let now = ContinuousClock.now
        let report = state.withLock { state -> Int? in
            state.count += 1
            EngineMetrics.shared.underReplicated.increment()
            state.sinceWarning += 1
            if let last = state.lastWarning, now - last < .seconds(10) { return nil }
            state.lastWarning = now
            defer { state.sinceWarning = 0 }
            return state.sinceWarning
        }
        if let report {
            logger.warning("transitions answered before enough Redis replicas had them; a failover now could lose them", metadata: [
                "redis.replicas.acknowledged": "\(acknowledged)", "redis.replicas.wanted": "\(wanted)", "count": "\(report)",
            ])
        }
    }
}
