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
        var evicting: Set<String> = []
        for node in try await redis.masters() {
            // One round trip per master: the scripts and the eviction policy together.
            let replies = try await node.pool.pipeline([
                RedisCommand("SCRIPT", ["EXISTS"] + scripts.map { .string($0.sha1) }),
                RedisCommand("CONFIG", ["GET", "maxmemory-policy"]),
            ])
            missing += zip(scripts, try replies[0].throwingServerError().array ?? []).filter { $0.1.int != 1 }.count
            if let policy = try Self.evictionPolicy(in: replies[1]), policy != "noeviction" { evicting.insert(policy) }
        }
        var readiness = StoreReadiness(master: sentinel?.description, notes: [])
        if !evicting.isEmpty {
            readiness.notes.append(
                "Redis evicts keys when it is full (maxmemory-policy \(evicting.sorted().joined(separator: ", "))), so tasks, leases and queue entries can vanish: set maxmemory-policy noeviction, and taskd answers 503 instead when Redis is full.")
        }
        if missing > 0 {
            try await loadScripts()
            readiness.notes.append("Redis had lost \(missing) lifecycle scripts; they were loaded again.")
        }
        return readiness
    }

    /// The `maxmemory-policy` in a `CONFIG GET` reply, or nil when taskd's Redis user may not read it
    /// (no CONFIG GET, as with Docker/redis-acl/taskd.acl: Docker/redis.conf sets noeviction there).
    private static func evictionPolicy(in reply: RESPValue) throws -> String? {
        do {
            return try reply.throwingServerError().array.flatMap { $0.count == 2 ? $0[1].string : nil }
        } catch let error as RedisServerError where error.prefix == "NOPERM" {
            return nil
        }
    }
}
