import RESP

/// The canonical task: every field of the task hash (Lua/README.md, "Task hash fields").
/// (Not called `Task`, which would shadow Swift concurrency's `Task` in every module that imports this one.)
/// Times are milliseconds since the Unix epoch; JSON fields are kept as the text the caller gave.
public struct TaskRecord: Sendable, Hashable {
    public var id: String
    public var commandType: String
    public var kind: TaskKind
    public var status: TaskStatus
    /// Given at create (the kAPI `description`).
    public var description: String?
    /// JSON text given at create.
    public var params: String?
    public var objectName: String?
    public var nodeUid: String?
    /// 0–100.
    public var progress: Double
    /// The worker's current state name.
    public var state: String?
    /// The worker's status sentence.
    public var statusDescription: String?
    /// Sub-operations (RS `pending_ops`) in order of appearance.
    public var ops: [TaskOp]
    /// False once the worker declared its commit phase.
    public var cancellable: Bool
    public var cancelRequested: Bool
    /// Current attempt, counting from 1 at the first claim (0 before).
    public var attempt: Int
    public var maxAttempts: Int
    public var priority: Int
    public var runAt: Int64?
    public var createdAt: Int64
    public var updatedAt: Int64
    public var startedAt: Int64?
    public var endedAt: Int64?
    /// When a finished task's keys expire.
    public var expiresAt: Int64?
    /// The worker holding (or that last held) the lease.
    public var workerId: String?
    public var leaseExpiresAt: Int64?
    /// JSON text given by complete.
    public var response: String?
    public var errorCode: String?
    public var errorMessage: String?
    /// Seconds a finished task is kept.
    public var resultTtl: Int
    public var uniqueKey: String?
    public var idempotencyKey: String?
    /// 1 at create, +1 on every change a reader can see: the ETag.
    public var version: Int64
}

/// One sub-operation: its id and its JSON object as the worker last reported it.
public struct TaskOp: Sendable, Hashable {
    public var id: String
    public var json: String

    public init(id: String, json: String) {
        self.id = id
        self.json = json
    }
}

extension TaskRecord {
    /// The task from an `HGETALL` reply; nil when the hash is absent (empty reply).
    init?(id: String, hash reply: RESPValue) throws {
        guard let values = reply.array, !values.isEmpty else { return nil }
        var fields: [String: String] = [:]
        fields.reserveCapacity(values.count / 2)
        var index = 0
        while index + 1 < values.count {
            if let name = values[index].string, let value = values[index + 1].string { fields[name] = value }
            index += 2
        }
        try self.init(id: id, fields: fields)
    }

    init(id: String, fields: [String: String]) throws {
        func text(_ name: String) -> String? {
            guard let value = fields[name], !value.isEmpty else { return nil }
            return value
        }
        func integer(_ name: String) -> Int64? { text(name).flatMap { Int64($0) } }
        guard let commandType = text("commandType"), let statusText = text("status"),
              let status = TaskStatus(rawValue: statusText)
        else {
            throw TaskEngineError(.unexpectedReply, "the hash of task \(id) lacks commandType or a known status (found \(fields["status"] ?? "none"))", taskId: id)
        }
        self.id = id
        self.commandType = commandType
        self.kind = text("kind").flatMap(TaskKind.init(rawValue:)) ?? .task
        self.status = status
        self.description = text("description")
        self.params = text("params")
        self.objectName = text("objectName")
        self.nodeUid = text("nodeUid")
        self.progress = text("progress").flatMap { Double($0) } ?? 0
        self.state = text("state")
        self.statusDescription = text("statusDescription")
        self.ops = (text("opIds") ?? "").split(separator: " ").map { opId in
            TaskOp(id: String(opId), json: fields["op:\(opId)"] ?? "{}")
        }
        self.cancellable = text("cancellable") != "0"
        self.cancelRequested = text("cancelRequested") == "1"
        self.attempt = integer("attempt").map(Int.init) ?? 0
        self.maxAttempts = integer("maxAttempts").map(Int.init) ?? 1
        self.priority = integer("priority").map(Int.init) ?? 0
        self.runAt = integer("runAt")
        self.createdAt = integer("createdAt") ?? 0
        self.updatedAt = integer("updatedAt") ?? self.createdAt
        self.startedAt = integer("startedAt")
        self.endedAt = integer("endedAt")
        self.expiresAt = integer("expiresAt")
        self.workerId = text("workerId")
        self.leaseExpiresAt = integer("leaseExpiresAt")
        self.response = text("response")
        self.errorCode = text("errorCode")
        self.errorMessage = text("errorMessage")
        self.resultTtl = integer("resultTtl").map(Int.init) ?? TaskEngineConfiguration.defaultResultTtl
        self.uniqueKey = text("uniqueKey")
        self.idempotencyKey = text("idempotencyKey")
        self.version = integer("version") ?? 1
    }
}
