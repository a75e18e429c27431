import RESP
import RedisClient

extension TaskStore {
    /// Whether the store can serve: every master answers and knows every lifecycle script. Scripts a
    /// master lost (a restart, a failover, `SCRIPT FLUSH`) are loaded again at once and reported.
    /// Returns sentences for an operator (empty when all is well); throws when Redis is unreachable.
    public func checkReadiness() async throws -> [String] {
        let scripts = self.scripts.all
        var missing = 0
        for node in try await redis.masters() {
            let reply = try await node.pool.send(RedisCommand("SCRIPT", ["EXISTS"] + scripts.map { .string($0.sha1) }))
            missing += zip(scripts, reply.array ?? []).filter { $0.1.int != 1 }.count
        }
        guard missing > 0 else { return [] }
        try await loadScripts()
        return ["Redis had lost \(missing) lifecycle scripts; they were loaded again."]
    }
}
