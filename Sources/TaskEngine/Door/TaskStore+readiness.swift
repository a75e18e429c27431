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
            let reply = try await node.pool.send(RedisCommand("SCRIPT", ["EXISTS"] + scripts.map { .string($0.sha1) }))
            missing += zip(scripts, reply.array ?? []).filter { $0.1.int != 1 }.count
            if let policy = try await evictionPolicy(of: node), policy != "noeviction" { evicting.insert(policy) }
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

    /// The node's `maxmemory-policy`, or nil when taskd's Redis user may not read it (no CONFIG GET,
    /// as with Docker/redis-acl/taskd.acl: Docker/redis.conf sets noeviction there).
    private func evictionPolicy(of node: RedisNode) async throws -> String? {
        do {
            let reply = try await node.pool.send(RedisCommand("CONFIG", ["GET", "maxmemory-policy"]))
            return reply.array.flatMap { $0.count == 2 ? $0[1].string : nil }
        } catch let error as RedisServerError where error.prefix == "NOPERM" {
            return nil
        }
    }
}
