import RESP

public struct CompleteResult: Sendable, Hashable {
    public var version: Int64
    /// A cancel was requested but the worker finished first: the cancel lost.
    public var cancelRequested: Bool
}

/// `complete-9`: leased → `completed` (also from `cancelling`: the worker wins).
struct CompleteTransition: TaskTransition {
    static let scriptName = "complete"
    static let keyCount = 9

    var id: String
    var leaseToken: String
    var response: String?

    var taskId: String? { id }

    func keys(in shard: ShardKeys) -> [String] { shard.finishingKeys(of: id) }

    func arguments(_ call: TransitionCall) -> [RESPArgument] {
        [call.nowArgument, .string(leaseToken), .string(response ?? "")] + call.streamLimits
    }

    /// `{0, "completed", version, cancelRequested, commandType, startedAt}`
    func decode(_ reply: inout ScriptReplyFields) throws -> Observed<CompleteResult> {
        _ = try reply.status()
        let result = CompleteResult(version: try reply.int("version"), cancelRequested: try reply.flag("cancelRequested"))
        return Observed(value: result, observation: try reply.observation(entering: .completed))
    }

    func observation(of reply: Observed<CompleteResult>) -> TransitionObservation? { reply.observation }
}

extension TaskStore {
    /// Finishes the task successfully; `response` is JSON text (e.g. `{"resourceId": 12}`). One round trip.
    public func complete(_ id: String, leaseToken: String, response: String? = nil) async throws -> CompleteResult {
        let shard = try shard(ofTask: id)
        try InputCheck.leaseToken(leaseToken)
        try InputCheck.text(response, "response", length: TaskLimits.jsonLength)
        return try await TaskTracing.inSpan("task.complete", taskId: id) {
            try await perform(CompleteTransition(id: id, leaseToken: leaseToken, response: response), in: shard).value
        }
    }
}

extension ShardKeys {
    /// The keys of a leased task's way out (complete-9, ack-cancel-9): its hash and stream, the lease
    /// set, the indexes it leaves and enters, its unique and idempotency entries, the shard stream.
    func finishingKeys(of id: String) -> [String] {
        [task(id), taskEvents(id), leases, activeIndex, updatedIndex, finishedIndex, unique, idempotency, events]
    }
}
