import RESP

/// `delete-7`: removes a finished task now.
struct DeleteTransition: TaskTransition {
    static let scriptName = "delete"
    static let keyCount = 7

    var id: String

    var taskId: String? { id }

    func keys(in shard: ShardKeys) -> [String] {
        [
            shard.task(id), shard.taskEvents(id), shard.updatedIndex, shard.finishedIndex, shard.objectIndex,
            shard.idempotency, shard.events,
        ]
    }

    /// No task stream is written (it is deleted), so only the shard stream's limit.
    func arguments(_ call: TransitionCall) -> [RESPArgument] {
        [call.nowArgument, .integer(call.shardEventsMaxLen)]
    }

    /// `{0}`
    func decode(_ reply: inout ScriptReplyFields) throws {}
}

extension TaskStore {
    /// Removes a finished task now: its hash, its events and its index entries.
    public func delete(_ id: String) async throws {
        try await perform(DeleteTransition(id: id), in: try shard(ofTask: id))
    }
}
