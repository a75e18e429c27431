import RESP

/// A worker's report (DESIGN.md §4.2): the lease is always renewed; the rest only when given.
public struct Heartbeat: Sendable, Hashable {
    public var leaseToken: String
    /// The new lease from now; nil = the configured default lease.
    public var lease: Duration?
    public var progress: Double?
    public var state: String?
    public var statusDescription: String?
    /// False declares the commit phase: cancel then needs force.
    public var cancellable: Bool?
    /// Sub-operations to replace, each a JSON object.
    public var ops: [TaskOp]

    public init(
        leaseToken: String, lease: Duration? = nil, progress: Double? = nil, state: String? = nil,
        statusDescription: String? = nil, cancellable: Bool? = nil, ops: [TaskOp] = []
    ) {
        self.leaseToken = leaseToken
        self.lease = lease
        self.progress = progress
        self.state = state
        self.statusDescription = statusDescription
        self.cancellable = cancellable
        self.ops = ops
    }
}

public struct HeartbeatResult: Sendable, Hashable {
    public var status: TaskStatus
    public var version: Int64
    /// An operator asked to cancel: the worker should stop and acknowledge.
    public var cancelRequested: Bool
    public var leaseExpiresAt: Int64
}

public struct CompleteResult: Sendable, Hashable {
    public var version: Int64
    /// A cancel was requested but the worker finished first: the cancel lost.
    public var cancelRequested: Bool
}

public struct FailResult: Sendable, Hashable {
    /// `queued` when the task will be retried at `retryAt`, else `failed`.
    public var status: TaskStatus
    public var version: Int64
    public var retryAt: Int64?
}

extension TaskStore {
    /// Renews the lease and records progress (starting/impacted → running). One round trip.
    public func heartbeat(_ id: String, _ heartbeat: Heartbeat) async throws -> HeartbeatResult {
        let shard = try shard(ofTask: id)
        try Self.checkLeaseToken(heartbeat.leaseToken)
        let leaseMs = (heartbeat.lease ?? configuration.leaseDuration).milliseconds
        try InputCheck.range(leaseMs, "the lease (ms)", TaskLimits.lease)
        if let progress = heartbeat.progress {
            guard progress.isFinite else { throw InputCheck.invalid("progress must be a number between 0 and 100") }
            try InputCheck.range(progress, "progress", TaskLimits.progress)
        }
        try InputCheck.line(heartbeat.state, "state", length: 1...TaskLimits.nameLength.upperBound)
        try InputCheck.text(heartbeat.statusDescription, "statusDescription", length: 1...TaskLimits.descriptionLength.upperBound)
        try InputCheck.range(heartbeat.ops.count, "the number of ops", TaskLimits.opsCount)
        var arguments: [RESPArgument] = [
            .string(String(clock.now())), .string(heartbeat.leaseToken), .string(String(leaseMs)),
            .string(heartbeat.progress.map(Self.formatProgress) ?? ""), .string(heartbeat.state ?? ""),
            .string(heartbeat.statusDescription ?? ""), .string(heartbeat.cancellable.map { $0 ? "1" : "0" } ?? ""),
            taskEventsMaxLen, shardEventsMaxLen,
        ]
        for op in heartbeat.ops {
            try InputCheck.word(op.id, "an op id", length: 1...128)
            try InputCheck.text(op.json, "op \(op.id)", length: 2...TaskLimits.jsonLength.upperBound)
            arguments.append(.string(op.id))
            arguments.append(.string(op.json))
        }
        let keys = [shard.task(id), shard.taskEvents(id), shard.leases, shard.updatedIndex, shard.events]
        let reply = try await run(scripts.heartbeat, keys: keys, arguments, taskId: id)
        return HeartbeatResult(
            status: try reply.status(1), version: reply.int(2) ?? 0, cancelRequested: reply.int(3) == 1,
            leaseExpiresAt: reply.int(4) ?? 0)
    }

    /// Finishes the task successfully; `response` is JSON text (e.g. `{"resourceId": 12}`). One round trip.
    public func complete(_ id: String, leaseToken: String, response: String? = nil) async throws -> CompleteResult {
        let shard = try shard(ofTask: id)
        try Self.checkLeaseToken(leaseToken)
        try InputCheck.text(response, "response", length: TaskLimits.jsonLength)
        let keys = [
            shard.task(id), shard.taskEvents(id), shard.leases, shard.activeIndex, shard.updatedIndex,
            shard.finishedIndex, shard.unique, shard.idempotency, shard.events,
        ]
        let reply = try await run(scripts.complete, keys: keys, [
            .string(String(clock.now())), .string(leaseToken), .string(response ?? ""), taskEventsMaxLen, shardEventsMaxLen,
        ], taskId: id)
        return CompleteResult(version: reply.int(2) ?? 0, cancelRequested: reply.int(3) == 1)
    }

    /// Reports a failure: re-queued with backoff while attempts remain and `retryable`, else `failed`.
    public func fail(_ id: String, leaseToken: String, errorCode: String?, errorMessage: String?, retryable: Bool = true) async throws -> FailResult {
        let shard = try shard(ofTask: id)
        try Self.checkLeaseToken(leaseToken)
        try InputCheck.line(errorCode, "errorCode", length: 1...TaskLimits.nameLength.upperBound)
        try InputCheck.text(errorMessage, "errorMessage", length: TaskLimits.errorMessageLength)
        let keys = [
            shard.task(id), shard.taskEvents(id), shard.leases, shard.delayed, shard.activeIndex, shard.updatedIndex,
            shard.finishedIndex, shard.unique, shard.idempotency, shard.events,
        ]
        let reply = try await run(scripts.fail, keys: keys, [
            .string(String(clock.now())), .string(leaseToken), .string(errorCode ?? ""), .string(errorMessage ?? ""),
            retryable ? "1" : "0", .string(String(configuration.retryBackoffBase.milliseconds)),
            .string(String(configuration.retryBackoffMax.milliseconds)), taskEventsMaxLen, shardEventsMaxLen,
        ], taskId: id)
        let status = try reply.status(1)
        return FailResult(status: status, version: reply.int(2) ?? 0, retryAt: status == .queued ? reply.int(3) : nil)
    }

    /// The worker acknowledges a cancel request (cancelling → cancelled). Returns the new version.
    @discardableResult
    public func acknowledgeCancel(_ id: String, leaseToken: String) async throws -> Int64 {
        let shard = try shard(ofTask: id)
        try Self.checkLeaseToken(leaseToken)
        let keys = [
            shard.task(id), shard.taskEvents(id), shard.leases, shard.activeIndex, shard.updatedIndex,
            shard.finishedIndex, shard.unique, shard.idempotency, shard.events,
        ]
        let reply = try await run(scripts.ackCancel, keys: keys, [
            .string(String(clock.now())), .string(leaseToken), taskEventsMaxLen, shardEventsMaxLen,
        ], taskId: id)
        return reply.int(2) ?? 0
    }

    static func checkLeaseToken(_ token: String) throws {
        try InputCheck.word(token, "leaseToken", length: 1...128)
    }

    /// `50`, `12.5`: at most three decimals, as short as the number allows, never an exponent
    /// (Swift prints an exponent only below 1e-4, and rounding to 0.001 keeps clear of that).
    /// Called on every heartbeat: no `String(format:)` or regex on this path.
    static func formatProgress(_ progress: Double) -> String {
        let rounded = (progress * 1000).rounded() / 1000
        if rounded == rounded.rounded() { return String(Int(rounded)) }
        return String(rounded)
    }
}
