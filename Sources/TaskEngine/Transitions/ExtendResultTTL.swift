import RESP

/// `extend-ttl-4`: keep a finished task for N seconds from now (CRDB `X-Result-TTL`).
struct ExtendResultTTLTransition: TaskTransition {
    static let scriptName = "extend-ttl"
    static let keyCount = 4

    var id: String
    var seconds: Int

    var taskId: String? { id }

    func keys(in shard: ShardKeys) -> [String] {
        [shard.task(id), shard.taskEvents(id), shard.finishedIndex, shard.idempotency]
    }

    func arguments(_ call: TransitionCall) -> [RESPArgument] {
        [call.nowArgument, .integer(seconds)]
    }

    /// `{0, expiresAt}`, or `{0, ""}` for an unfinished task.
    func decode(_ reply: inout ScriptReplyFields) throws -> Int64? {
        try reply.optionalInt("expiresAt")
    }
}

extension TaskStore {
    /// Keeps a finished task's result for `seconds` from now (CRDB `X-Result-TTL`); for an unfinished
    /// task it becomes the TTL applied when it finishes. Returns the new expiry of a finished task.
    @discardableResult
    public func extendResultTTL(_ id: String, seconds: Int) async throws -> Int64? {
        let shard = try shard(ofTask: id)
        try InputCheck.range(seconds, "the result TTL (seconds)", TaskLimits.resultTtl)
        return try await perform(ExtendResultTTLTransition(id: id, seconds: seconds), in: shard)
    }
}
