import RESP
import RedisClient

/// Checks (and where allowed, sets) `notify-keyspace-events` so Redis publishes stream writes:
/// taskd needs `K` (keyspace channel) and `t` (stream commands), or `A` which includes `t`.
/// The setting is per node and not replicated: in a cluster every master is checked, and again
/// whenever the masters change (a promoted replica has its own configuration).
enum KeyspaceNotifications {
    /// nil when notifications are on (now); else one sentence telling an operator what to configure.
    static func ensure(_ redis: RedisClient) async -> String? {
        do {
            for node in try await redis.masters() {
                let reply = try await node.pool.send(RedisCommand("CONFIG", ["GET", "notify-keyspace-events"]))
                let current = reply.array.flatMap { $0.count == 2 ? $0[1].string : nil } ?? ""
                if Self.suffices(current) { continue }
                var wanted = current
                if !wanted.contains("K") { wanted += "K" }
                if !wanted.contains("t") && !wanted.contains("A") { wanted += "t" }
                _ = try await node.pool.send(RedisCommand("CONFIG", ["SET", "notify-keyspace-events", .string(wanted)]))
            }
            return nil
        } catch {
            return "Redis keyspace notifications are off and taskd may not turn them on (\(error)): set notify-keyspace-events to include K and t (e.g. \"Kt\") in redis.conf or with CONFIG SET, so watchers get changes at once instead of within seconds."
        }
    }

    static func suffices(_ flags: String) -> Bool {
        flags.contains("K") && (flags.contains("t") || flags.contains("A"))
    }
}
