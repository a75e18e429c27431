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
        default:
            throw TaskEngineError(.unexpectedReply, "script \(script) answered code \(code): \(reply)", taskId: taskId)
        }
    }

    var code: Int { values[0].int ?? -1 }

    func string(_ index: Int) -> String {
        index < values.count ? values[index].string ?? "" : ""
    }

    /// An integer at `index`; nil when absent or `""`.
    func int(_ index: Int) -> Int64? {
        guard index < values.count else { return nil }
        return values[index].int.map(Int64.init)
    }

    func status(_ index: Int) throws -> TaskStatus {
        guard let status = TaskStatus(rawValue: string(index)) else {
            throw TaskEngineError(.unexpectedReply, "a script answered an unknown status \"\(string(index))\"")
        }
        return status
    }
}
