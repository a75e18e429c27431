import RESP

/// `ack-cancel-9`: the worker acknowledges a cancel request (cancelling → cancelled).
struct AcknowledgeCancelTransition: TaskTransition {
    static let scriptName = "ack-cancel"
    static let keyCount = 9

    var id: String
    var leaseToken: String

    var taskId: String? { id }

    func keys(in shard: ShardKeys) -> [String] { shard.finishingKeys(of: id) }

    func arguments(_ call: TransitionCall) -> [RESPArgument] {
        [call.nowArgument, .string(leaseToken)] + call.streamLimits
    }

    /// `{0, "cancelled", version, commandType, startedAt}`
    func decode(_ reply: inout ScriptReplyFields) throws -> Observed<Int64> {
        _ = try reply.status()
        let version = try reply.int("version")
        return Observed(value: version, observation: try reply.observation(entering: .cancelled))
    }

    func observation(of reply: Observed<Int64>) -> TransitionObservation? { reply.observation }
}

extension TaskStore {
    /// The worker acknowledges a cancel request (cancelling → cancelled). Returns the new version.
    @discardableResult
    public func acknowledgeCancel(_ id: String, leaseToken: String) async throws -> Int64 {
        let shard = try shard(ofTask: id)
        try InputCheck.leaseToken(leaseToken)
        return try await TaskTracing.inSpan("task.ack_cancel", taskId: id) {
            try await perform(AcknowledgeCancelTransition(id: id, leaseToken: leaseToken), in: shard).value
        }
    }
}
