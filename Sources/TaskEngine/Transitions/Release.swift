import RESP

/// `release-6`: a worker hands its leased task back (starting/running/impacted → queued) without
/// spending an attempt, claimable again at once: a graceful shutdown, not a failure.
struct ReleaseTransition: TaskTransition {
    static let scriptName = "release"
    static let keyCount = 6

    var id: String
    var leaseToken: String

    var taskId: String? { id }

    func keys(in shard: ShardKeys) -> [String] {
        [shard.task(id), shard.taskEvents(id), shard.leases, shard.delayed, shard.updatedIndex, shard.events]
    }

    func arguments(_ call: TransitionCall) -> [RESPArgument] {
        [call.nowArgument, .string(leaseToken)] + call.streamLimits
    }

    /// `{0, "queued", version, commandType}`
    func decode(_ reply: inout ScriptReplyFields) throws -> Observed<Int64> {
        _ = try reply.status()
        let version = try reply.int("version")
        return Observed(value: version, observation: try reply.observation(entering: .queued, withStartedAt: false))
    }

    func observation(of reply: Observed<Int64>) -> TransitionObservation? { reply.observation }
}

extension TaskStore {
    /// Hands a leased task back to `queued` at once, without spending an attempt (the next claim
    /// gets the same attempt number) and without waiting for the lease to run out. The op states
    /// stay, so the next worker resumes. A cancelling task cannot be released: acknowledge the cancel.
    @discardableResult
    public func release(_ id: String, leaseToken: String) async throws -> Int64 {
        let shard = try shard(ofTask: id)
        try InputCheck.leaseToken(leaseToken)
        let version = try await perform(ReleaseTransition(id: id, leaseToken: leaseToken), in: shard).value
        readyTasks.ring()
        return version
    }
}
