import RESP
import RedisClient

/// What `/health/ready` reports about the task store.
public struct StoreReadiness: Sendable, Hashable {
    /// Which Redis is in use when that can change (Redis Sentinel: the service and its current master).
    public var master: String?
    /// Sentences for an operator about a store that serves (e.g. scripts reloaded); empty when all is well.
    public var notes: [String]
}

/// The store cannot serve now; the message says why (never a password).
public struct StoreNotReady: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

extension TaskStore {
    /// Whether the store can serve: every master answers and knows every lifecycle script. Scripts a
    /// master lost (a restart, a failover, `SCRIPT FLUSH`) are loaded again at once and reported.
    /// Throws ``StoreNotReady`` when Sentinel has no usable master, or Redis's error when unreachable.
    public func checkReadiness() async throws -> StoreReadiness {
        let sentinel = redis.sentinelStatus
        if let sentinel, !sentinel.isReady { throw StoreNotReady(message: sentinel.description) }
        let scripts = self.scripts.all
        var missing = 0
        for node in try await redis.masters() {
            let reply = try await node.pool.send(RedisCommand("SCRIPT", ["EXISTS"] + scripts.map { .string($0.sha1) }))
            missing += zip(scripts, reply.array ?? []).filter { $0.1.int != 1 }.count
        }
        var readiness = StoreReadiness(master: sentinel?.description, notes: [])
        if missing > 0 {
            try await loadScripts()
            readiness.notes.append("Redis had lost \(missing) lifecycle scripts; they were loaded again.")
        }
        return readiness
    }
}
