import RESP

/// A worker's report (DESIGN.md §4.2): the lease is always renewed; the rest only when given.
public struct Heartbeat: Sendable, Hashable {
    public var leaseToken: String
    /// The new lease length from now; nil = the length the task has (the one claimed, or the last named).
    public var lease: Duration?
    public var progress: Double?
    public var state: String?
    public var statusDescription: String?
    /// False declares the commit phase: cancel then needs force.
    public var cancellable: Bool?
    /// Sub-operations to replace, each a JSON object of `progress`, `op_name`, `status_code`,
    /// `status_description`, `snapshot`; the script stamps `heartbeat` and `last_sample_time`.
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

/// `heartbeat-5`: renew the lease and record progress (starting/impacted → running).
struct HeartbeatTransition: TaskTransition {
    static let scriptName = "heartbeat"
    static let keyCount = 5

    var id: String
    /// Checked: lease in ms (nil = keep the task's), progress formatted.
    var leaseMs: Int64?
    var report: Heartbeat

    var taskId: String? { id }

    func keys(in shard: ShardKeys) -> [String] {
        [shard.task(id), shard.taskEvents(id), shard.leases, shard.updatedIndex, shard.events]
    }

    func arguments(_ call: TransitionCall) -> [RESPArgument] {
        var arguments: [RESPArgument] = [
            call.nowArgument, .string(report.leaseToken), .string(leaseMs.map { String($0) } ?? ""),
            .string(report.progress.map(TaskStore.formatProgress) ?? ""), .string(report.state ?? ""),
            .string(report.statusDescription ?? ""), .string(report.cancellable.map { $0 ? "1" : "0" } ?? ""),
        ]
        arguments += call.streamLimits
        for op in report.ops {
            arguments.append(.string(op.id))
            arguments.append(.string(op.json))
        }
        return arguments
    }

    /// `{0, status, version, cancelRequested, leaseExpiresAt[, commandType]}`: commandType only when
    /// the call changed the status (starting | impacted → running), which is a transition to count.
    func decode(_ reply: inout ScriptReplyFields) throws -> Observed<HeartbeatResult> {
        let result = HeartbeatResult(
            status: try reply.status(), version: try reply.int("version"), cancelRequested: try reply.flag("cancelRequested"),
            leaseExpiresAt: try reply.int("leaseExpiresAt"))
        guard reply.hasMore else { return Observed(value: result, observation: nil) }
        return Observed(value: result, observation: TransitionObservation(commandType: try reply.string("commandType"), status: result.status))
    }

    func observation(of reply: Observed<HeartbeatResult>) -> TransitionObservation? { reply.observation }
}

extension TaskStore {
    /// Renews the lease and records progress (starting/impacted → running). One round trip.
    ///
    /// The lease keeps the length it was claimed with (or the last one a heartbeat named) unless
    /// `heartbeat.lease` names another.
    public func heartbeat(_ id: String, _ heartbeat: Heartbeat) async throws -> HeartbeatResult {
        let shard = try shard(ofTask: id)
        try InputCheck.leaseToken(heartbeat.leaseToken)
        let leaseMs = try heartbeat.lease.map(TaskLimits.checkedLease)
        try TaskLimits.checkProgress(heartbeat.progress)
        try InputCheck.line(heartbeat.state, "state", length: 1...TaskLimits.nameLength.upperBound)
        try InputCheck.text(heartbeat.statusDescription, "statusDescription", length: 1...TaskLimits.descriptionLength.upperBound)
        try InputCheck.range(heartbeat.ops.count, "the number of ops", TaskLimits.opsCount)
        for op in heartbeat.ops {
            try InputCheck.opId(op.id)
            try InputCheck.text(op.json, "op \(op.id)", length: 2...TaskLimits.jsonLength.upperBound)
            guard op.json.utf8.first == UInt8(ascii: "{"), op.json.utf8.last == UInt8(ascii: "}") else {
                throw InputCheck.invalid("op \(op.id) must be a JSON object")
            }
        }
        return try await TaskTracing.inSpan("task.heartbeat", taskId: id) {
            try await perform(HeartbeatTransition(id: id, leaseMs: leaseMs, report: heartbeat), in: shard).value
        }
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
