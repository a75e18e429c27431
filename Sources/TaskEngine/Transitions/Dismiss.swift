import RESP

/// `dismiss-6`: failed → dismissed; the result TTL restarts.
struct DismissTransition: TaskTransition {
    static let scriptName = "dismiss"
    static let keyCount = 6

    var id: String

    var taskId: String? { id }

    func keys(in shard: ShardKeys) -> [String] {
        [shard.task(id), shard.taskEvents(id), shard.updatedIndex, shard.finishedIndex, shard.idempotency, shard.events]
    }

    func arguments(_ call: TransitionCall) -> [RESPArgument] {
        [call.nowArgument] + call.streamLimits
    }

    /// `{0, "dismissed", version, commandType}`
    func decode(_ reply: inout ScriptReplyFields) throws -> Observed<Int64> {
        _ = try reply.status()
        let version = try reply.int("version")
        return Observed(value: version, observation: try reply.observation(entering: .dismissed, withStartedAt: false))
    }

    func observation(of reply: Observed<Int64>) -> TransitionObservation? { reply.observation }
}

extension TaskStore {
    /// Dismisses a failed task (failed → dismissed); its result TTL restarts. Returns the new version.
    @discardableResult
    public func dismiss(_ id: String) async throws -> Int64 {
        try await perform(DismissTransition(id: id), in: try shard(ofTask: id)).value
    }
}
