import Logging
import RESP
import RedisClient

/// One audited call: a state-changing request, or a failed authentication or authorization.
/// Never a secret: the key id only (for a failed authentication, the id the caller claimed).
public struct AuditEntry: Sendable, Hashable {
    public var requestId: String
    public var keyId: String
    public var role: String
    /// `METHOD /route/{template}`, e.g. `POST /v1/tasks/{taskId}/actions/cancel`.
    public var action: String
    /// The route's first path parameter (a task id, a key id), or "".
    public var target: String
    public var status: Int
    /// The error code of a refusal (`invalid_credentials`, `forbidden`, …), or "".
    public var error: String
    public var source: String

    public init(requestId: String, keyId: String, role: String, action: String, target: String, status: Int, error: String, source: String) {
        self.requestId = requestId
        self.keyId = keyId
        self.role = role
        self.action = action
        self.target = target
        self.status = status
        self.error = error
        self.source = source
    }
}

/// The audit stream: `<prefix>:{<prefix>:audit}:log`, one entry per audited call, `MAXLEN ~`
/// trimmed, readable with `redis-cli XREVRANGE 'taskd:{taskd:audit}:log' + - COUNT 20`. Entries are
/// written without holding up the answer; one that Redis refuses is logged and dropped (the call it
/// records has happened either way).
public struct AuditLog: Sendable {
    let redis: RedisClient
    public let key: String
    /// 0 = no audit stream.
    public let maxLength: Int
    let logger: Logger

    init(redis: RedisClient, keyspace: TaskKeyspace, maxLength: Int, logger: Logger) {
        self.redis = redis
        self.key = "\(keyspace.prefix):{\(keyspace.prefix):audit}:log"
        self.maxLength = maxLength
        self.logger = logger
    }

    /// Fields in this order (`time` is the entry id's ms).
    public static let fields = ["request", "key", "role", "action", "target", "status", "error", "source"]

    public func record(_ entry: AuditEntry) {
        guard maxLength > 0 else { return }
        let values = [entry.requestId, entry.keyId, entry.role, entry.action, entry.target, String(entry.status), entry.error, entry.source]
        var arguments: [RESPArgument] = [.string(key), "MAXLEN", "~", .integer(maxLength), "*"]
        for (name, value) in zip(Self.fields, values) {
            arguments.append(.string(name))
            arguments.append(.string(String(value.prefix(256))))
        }
        let command = RedisCommand("XADD", arguments, keys: [key])
        let redis = self.redis, logger = self.logger
        Task {
            do {
                _ = try await redis.send(command)
            } catch {
                logger.warning("audit entry not written", metadata: ["audit.action": "\(entry.action)", "error": "\(error)"])
            }
        }
    }

    /// The newest `count` entries, newest first, as field dictionaries with `id` (for tests and tools).
    public func newest(_ count: Int) async throws -> [[String: String]] {
        let reply = try await redis.send(RedisCommand("XREVRANGE", [.string(key), "+", "-", "COUNT", .integer(count)], keys: [key]))
        return (reply.array ?? []).compactMap { item in
            guard let parts = item.array, parts.count == 2, let id = parts[0].string, let values = parts[1].array else { return nil }
            var entry = ["id": id]
            var index = 0
            while index + 1 < values.count {
                if let name = values[index].string { entry[name] = values[index + 1].string ?? "" }
                index += 2
            }
            return entry
        }
    }
}
