import Logging
import RESP
import RedisClient
import ServiceLifecycle
import Synchronization

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
///
/// Entries wait in a queue that one writer at a time empties into a single pipeline (issue 19: a
/// task per audited request cost a task switch and a Redis round trip each). Under load the queue
/// holds what arrived during the last pipeline's round trip; on graceful shutdown ``flushService``
/// writes what is left after the HTTP server has answered its last request.
public struct AuditLog: Sendable {
    let redis: RedisClient
    public let key: String
    /// 0 = no audit stream.
    public let maxLength: Int
    let logger: Logger
    private let queue = AuditQueue()

    /// Most XADDs in one pipeline; a longer queue is written in several.
    static let batchLimit = 256
    /// Most entries waiting while Redis is slow or away; past it new entries are dropped (and counted in the log).
    static let queueLimit = 10_000

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
        guard queue.append(RedisCommand("XADD", arguments, keys: [key]), limit: Self.queueLimit) else { return }
        // This entry found no writer at work: start one. It writes until the queue is empty.
        Task { await self.writeQueued() }
    }

    /// Writes queued entries, a pipeline at a time, until none are left.
    private func writeQueued() async {
        while let (batch, dropped) = queue.next(limit: Self.batchLimit) {
            if dropped > 0 {
                logger.warning("audit entries dropped: the queue was full", metadata: ["audit.entries": "\(dropped)"])
            }
            do {
                let refusals = try await redis.pipeline(batch).compactMap { reply -> String? in
                    if case .error(let message) = reply { message } else { nil }
                }
                if let first = refusals.first {
                    logger.warning("audit entries not written", metadata: ["audit.entries": "\(refusals.count)", "error": "\(first)"])
                }
            } catch {
                logger.warning("audit entries not written", metadata: ["audit.entries": "\(batch.count)", "error": "\(error)"])
            }
        }
    }

    /// Returns once every entry recorded before the call has been written (or refused).
    public func flush() async {
        queue.beginWriting()
        await writeQueued()
        // Another writer's pipeline may still be on its way.
        while queue.isWriting {
            guard (try? await Task.sleep(for: .milliseconds(5))) != nil else { return }
        }
    }

    /// Runs until graceful shutdown, then writes what is queued. List it before the services that
    /// record (the HTTP server) and after the Redis client: a `ServiceGroup` stops them in reverse.
    public var flushService: any Service { AuditFlushService(log: self) }

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

/// The queued XADDs and whether a writer is emptying them.
final class AuditQueue: Sendable {
    private struct State {
        var commands: [RedisCommand] = []
        var writers = 0
        var dropped = 0
    }

    private let state = Mutex(State())

    /// Queues `command` (or drops it when `limit` are waiting); true when no writer is at work, so
    /// the caller must start one.
    func append(_ command: RedisCommand, limit: Int) -> Bool {
        state.withLock { state in
            if state.commands.count >= limit {
                state.dropped += 1
            } else {
                state.commands.append(command)
            }
            guard state.writers == 0 else { return false }
            state.writers = 1
            return true
        }
    }

    /// One more writer (``AuditLog/flush()``), which ends like the others, at an empty queue.
    func beginWriting() {
        state.withLock { $0.writers += 1 }
    }

    /// The next batch for the writer and how many entries were dropped since the last; nil (and
    /// the writer stops) when the queue is empty.
    func next(limit: Int) -> (batch: [RedisCommand], dropped: Int)? {
        state.withLock { state in
            guard !state.commands.isEmpty else {
                state.writers -= 1
                return nil
            }
            let batch = Array(state.commands.prefix(limit))
            state.commands.removeFirst(batch.count)
            defer { state.dropped = 0 }
            return (batch, state.dropped)
        }
    }

    var isWriting: Bool { state.withLock { $0.writers > 0 } }
}

struct AuditFlushService: Service {
    let log: AuditLog

    func run() async throws {
        do {
            try await gracefulShutdown()
        } catch {
            return // cancelled: no graceful shutdown to finish
        }
        await log.flush()
    }
}
