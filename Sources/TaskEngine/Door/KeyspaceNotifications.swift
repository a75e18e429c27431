import RESP
import RedisClient

/// What taskd found out about `notify-keyspace-events`: Redis must publish stream writes for
/// watchers to hear of changes at once (`K` keyspace channel and `t` stream commands, or `A`).
public enum KeyspaceNotificationsFinding: Sendable, Equatable {
    /// On, on every master (now).
    case on
    /// taskd's Redis user may not read the setting: the least-privilege ACL rule set
    /// (`Docker/redis-acl/taskd.acl`) has no CONFIG. A notification that arrives shows it is on.
    case unreadable(String)
    /// Off (on some master), and taskd may not or could not turn it on.
    case off(String)

    /// One sentence telling an operator what to configure; nil when on.
    public var sentence: String? {
        switch self {
        case .on: nil
        case .unreadable(let sentence), .off(let sentence): sentence
        }
    }
}

extension TaskStore {
    /// Checks (and where allowed, turns on) `notify-keyspace-events` on every master. The setting is
    /// per node and not replicated: in a cluster every master is checked, and again whenever the
    /// masters change (``TaskChange/gap(mastersChanged:)``: a promoted replica has its own configuration).
    public func ensureKeyspaceNotifications() async -> KeyspaceNotificationsFinding {
        do {
            for node in try await redis.masters() {
                let reply: RESPValue
                do {
                    reply = try await node.pool.send(RedisCommand("CONFIG", ["GET", "notify-keyspace-events"]))
                } catch let error as RedisServerError where error.prefix == "NOPERM" {
                    let cluster = redis.router.isCluster
                    return .unreadable(
                        "taskd's Redis user may not read notify-keyspace-events (no CONFIG GET, as with Docker/redis-acl/taskd.acl), so taskd cannot check it: make sure it includes K and t (e.g. \"Kt\") in redis.conf\(cluster ? " of every node" : ""), or watchers get changes within seconds instead of at once."
                            + (cluster ? "" : " This note goes away once taskd receives a change notification."))
                }
                let current = reply.array.flatMap { $0.count == 2 ? $0[1].string : nil } ?? ""
                if Self.notificationsSuffice(current) { continue }
                var wanted = current
                if !wanted.contains("K") { wanted += "K" }
                if !wanted.contains("t") && !wanted.contains("A") { wanted += "t" }
                _ = try await node.pool.send(RedisCommand("CONFIG", ["SET", "notify-keyspace-events", .string(wanted)]))
            }
            return .on
        } catch {
            return .off("Redis keyspace notifications are off and taskd may not turn them on (\(error)): set notify-keyspace-events to include K and t (e.g. \"Kt\") in redis.conf or with CONFIG SET, so watchers get changes at once instead of within seconds.")
        }
    }

    static func notificationsSuffice(_ flags: String) -> Bool {
        flags.contains("K") && (flags.contains("t") || flags.contains("A"))
    }
}
