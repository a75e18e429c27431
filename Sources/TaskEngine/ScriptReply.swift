import RESP

/// A script's reply `{code, …}` (Lua/README.md, "Return codes"), with every error code mapped to a
/// `TaskEngineError` here and nowhere else.
struct ScriptReply {
    let values: [RESPValue]

    /// Checks the reply; returns it when its code is 0 (OK) or one of `accepting`, throws otherwise.
    init(_ reply: RESPValue, script: String, taskId: String?, accepting: Set<Int> = []) throws {
        guard let values = reply.array, let code = values.first?.int else {
            throw TaskEngineError(.unexpectedReply, "script \(script) answered \(reply), not {code, …}", taskId: taskId)
        }
        if code == 0 || accepting.contains(code) {
            self.values = values
            return
        }
        let detail = values.count > 1 ? values[1].string ?? "" : ""
        let status = TaskStatus(rawValue: detail)
        let task = taskId.map { "task \($0)" } ?? "the task"
        switch code {
        case 1:
            throw TaskEngineError(.notFound, "\(task) does not exist (unknown, deleted, or its result expired)", taskId: taskId)
        case 2:
            throw TaskEngineError(.wrongStatus, "\(task) is \(detail), which does not allow this", status: status, taskId: taskId)
        case 3:
            throw TaskEngineError(.staleLease, "the lease token is not \(task)'s current lease (it is \(detail) now): this worker no longer owns it", status: status, taskId: taskId)
        case 4:
            throw TaskEngineError(.notCancellable, "\(task) is in its commit phase and cannot be cancelled; cancel with force to stop it anyway", status: status, taskId: taskId)
        case 5:
            throw TaskEngineError(.duplicateUnique, "the uniqueKey is held by unfinished task \(detail)", taskId: detail)
        case 6:
            throw TaskEngineError(.alreadyExists, "a task with id \(detail) exists already", taskId: detail)
        case 7:
            throw TaskEngineError(.unexpectedReply, "script \(script) refused its argument \(detail): a bug in taskd's call", taskId: taskId)
        case 10:
            throw TaskEngineError(.lastAdminKey, "this is the last admin key; create another admin key first, or nobody could manage keys until taskd restarts with TASKD_ADMIN_KEY")
        case 9:
            throw TaskEngineError(.invalidArgument, "\(task) would have \(detail) ops; a task has at most \(TaskLimits.opsCount.upperBound)", taskId: taskId)
        default:
            throw TaskEngineError(.unexpectedReply, "script \(script) answered code \(code): \(reply)", taskId: taskId)
        }
    }

    var code: Int { values[0].int ?? -1 }
}

/// The fields of an accepted reply after its code, read in order: each transition's `decode` reads
/// them exactly as its script's header lists them, so the Swift side cannot skip or reorder one.
struct ScriptReplyFields {
    let script: String
    let code: Int
    private var rest: ArraySlice<RESPValue>

    init(_ reply: ScriptReply, script: String) {
        self.script = script
        self.code = reply.code
        self.rest = reply.values.dropFirst()
    }

    /// True when fields are left: for replies whose last fields are there only sometimes.
    var hasMore: Bool { !rest.isEmpty }

    private mutating func next(_ what: String) throws -> RESPValue {
        guard let value = rest.popFirst() else {
            throw TaskEngineError(.unexpectedReply, "script \(script) answered without its \(what)")
        }
        return value
    }

    /// A string field; `""` stays `""`.
    mutating func string(_ what: String) throws -> String {
        try next(what).string ?? ""
    }

    /// A string field where `""` means none.
    mutating func optionalString(_ what: String) throws -> String? {
        let text = try string(what)
        return text.isEmpty ? nil : text
    }

    /// An integer field (Redis turns Lua numbers into integers).
    mutating func int(_ what: String) throws -> Int64 {
        let value = try next(what)
        guard let number = value.int else {
            throw TaskEngineError(.unexpectedReply, "script \(script) answered \(value) for its \(what), not an integer")
        }
        return Int64(number)
    }

    /// An integer field where `""` means none.
    mutating func optionalInt(_ what: String) throws -> Int64? {
        let value = try next(what)
        if let number = value.int { return Int64(number) }
        if value.string == "" { return nil }
        throw TaskEngineError(.unexpectedReply, "script \(script) answered \(value) for its \(what), not an integer or \"\"")
    }

    /// A `0 | 1` field.
    mutating func flag(_ what: String) throws -> Bool {
        try int(what) == 1
    }

    mutating func status(_ what: String = "status") throws -> TaskStatus {
        let text = try string(what)
        guard let status = TaskStatus(rawValue: text) else {
            throw TaskEngineError(.unexpectedReply, "script \(script) answered an unknown \(what) \"\(text)\"")
        }
        return status
    }
}
