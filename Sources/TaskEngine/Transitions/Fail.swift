import RESP

public struct FailResult: Sendable, Hashable {
    /// `queued` when the task will be retried at `retryAt`, else `failed`.
    public var status: TaskStatus
    public var version: Int64
    public var retryAt: Int64?
}

/// `fail-10`: leased → `queued` (retry with backoff) or `failed`.
struct FailTransition: TaskTransition {
    static let scriptName = "fail"
    static let keyCount = 10

    var id: String
    var leaseToken: String
    var errorCode: String?
    var errorMessage: String?
    var retryable: Bool
    var backoffBase: Duration
    var backoffMax: Duration

    var taskId: String? { id }

    func keys(in shard: ShardKeys) -> [String] {
        [
            shard.task(id), shard.taskEvents(id), shard.leases, shard.delayed, shard.activeIndex, shard.updatedIndex,
            shard.finishedIndex, shard.unique, shard.idempotency, shard.events,
        ]
    }

    func arguments(_ call: TransitionCall) -> [RESPArgument] {
        [
            call.nowArgument, .string(leaseToken), .string(errorCode ?? ""), .string(errorMessage ?? ""),
            retryable ? "1" : "0", .string(String(backoffBase.milliseconds)), .string(String(backoffMax.milliseconds)),
        ] + call.streamLimits
    }

    /// `{0, "queued", version, retryAt, commandType, startedAt}` or `{0, "failed", version, "", commandType, startedAt}`
    func decode(_ reply: inout ScriptReplyFields) throws -> Observed<FailResult> {
        let status = try reply.status()
        let version = try reply.int("version")
        let retryAt = try reply.optionalInt("retryAt")
        let result = FailResult(status: status, version: version, retryAt: status == .queued ? retryAt : nil)
        return Observed(value: result, observation: try reply.observation(entering: status))
    }

    func observation(of reply: Observed<FailResult>) -> TransitionObservation? { reply.observation }
}

extension TaskStore {
    /// Reports a failure: re-queued with backoff while attempts remain and `retryable`, else `failed`.
    public func fail(_ id: String, leaseToken: String, errorCode: String?, errorMessage: String?, retryable: Bool = true) async throws -> FailResult {
        let shard = try shard(ofTask: id)
        try InputCheck.leaseToken(leaseToken)
        try InputCheck.line(errorCode, "errorCode", length: 1...TaskLimits.nameLength.upperBound)
        try InputCheck.text(errorMessage, "errorMessage", length: TaskLimits.errorMessageLength)
        return try await TaskTracing.inSpan("task.fail", taskId: id) {
            try await perform(FailTransition(
            id: id, leaseToken: leaseToken, errorCode: errorCode, errorMessage: errorMessage, retryable: retryable,
            backoffBase: configuration.retryBackoffBase, backoffMax: configuration.retryBackoffMax), in: shard).value
        }
    }
}
