import RESP

/// `retention-4`: the index entries of finished tasks whose keys expired.
struct RetentionTransition: TaskTransition {
    static let scriptName = "retention"
    static let keyCount = 4

    var limit: Int

    func keys(in shard: ShardKeys) -> [String] {
        [shard.finishedIndex, shard.updatedIndex, shard.objectIndex, shard.idempotency]
    }

    func arguments(_ call: TransitionCall) -> [RESPArgument] {
        [call.nowArgument, .integer(limit)]
    }

    /// `{0, removed, nextExpiresAt}`: the number removed.
    func decode(_ reply: inout ScriptReplyFields) throws -> Int {
        Int(try reply.int("removed"))
    }
}

extension TaskStore {
    /// Removes the index entries of finished tasks whose keys have expired; returns how many.
    @discardableResult
    public func cleanExpired() async throws -> Int {
        try await drainEveryShard(RetentionTransition(limit: Self.housekeepingBatch), handled: { $0 }).reduce(0, +)
    }
}
