import RESP
import Tracing

/// A task handed to a worker by ``TaskStore/claim(workerId:commandTypes:lease:wait:)``.
public struct ClaimedTask: Sendable, Hashable {
    public var id: String
    public var commandType: String
    /// JSON text given at create, nil when none.
    public var params: String?
    /// The sub-operation ids given at create (and any a worker added), in order.
    public var ops: [String]
    /// What the previous attempt reported for each op (JSON objects: progress, snapshot, …), in
    /// `ops` order, so a retried attempt can resume; empty on a first attempt.
    public var opStates: [TaskOp]
    /// Counts from 1.
    public var attempt: Int
    public var maxAttempts: Int
    /// The fencing token: every later call for this task must carry it.
    public var leaseToken: String
    public var leaseExpiresAt: Int64
    /// The lease length this claim chose: heartbeats renew by it unless they name another.
    public var lease: Duration
    public var version: Int64
    /// The W3C `traceparent` stored at create, nil when none: the worker's calls join that trace.
    public var traceparent: String? = nil
}

/// `claim-5`: the most urgent ready task of one commandType in one shard (queued → starting).
struct ClaimTransition: TaskTransition {
    static let scriptName = "claim"
    static let keyCount = 5
    /// `EMPTY`: nothing ready.
    static let answerCodes: Set<Int> = [8]

    var commandType: String
    var workerId: String
    var leaseToken: String
    var leaseMs: Int64

    enum Outcome {
        case claimed(ClaimedTask)
        case empty(nextRunAt: Int64?)
    }

    func keys(in shard: ShardKeys) -> [String] {
        [shard.queue(commandType), shard.delayed, shard.leases, shard.updatedIndex, shard.events]
    }

    func arguments(_ call: TransitionCall) -> [RESPArgument] {
        [call.nowArgument, .string(call.shard.base), .string(workerId), .string(leaseToken), .string(String(leaseMs)), ""]
            + call.streamLimits
    }

    /// `{0, id, commandType, params, opIds, opStates, attempt, maxAttempts, leaseToken, leaseExpiresAt, version, traceparent}`
    /// or `{8, nextRunAt}`.
    func decode(_ reply: inout ScriptReplyFields) throws -> Outcome {
        if reply.code == 8 {
            return .empty(nextRunAt: try reply.optionalInt("nextRunAt"))
        }
        let id = try reply.string("id")
        let commandType = try reply.string("commandType")
        let params = try reply.optionalString("params")
        let ops = try reply.string("opIds").split(separator: " ").map(String.init)
        let opStates = try TaskOp.list(fromObject: reply.string("opStates"), order: ops)
        return .claimed(ClaimedTask(
            id: id, commandType: commandType, params: params, ops: ops, opStates: opStates,
            attempt: Int(try reply.int("attempt")), maxAttempts: Int(try reply.int("maxAttempts")),
            leaseToken: try reply.string("leaseToken"), leaseExpiresAt: try reply.int("leaseExpiresAt"),
            lease: .milliseconds(leaseMs), version: try reply.int("version"), traceparent: try reply.optionalString("traceparent")))
    }

    /// The claim of a first attempt ends the task's wait since it was created (its id holds that time).
    func observation(of reply: Outcome) -> TransitionObservation? {
        guard case .claimed(let task) = reply else { return nil }
        return TransitionObservation(
            commandType: task.commandType, status: .starting, createdAt: task.attempt == 1 ? TaskID.milliseconds(of: task.id) : nil)
    }
}

extension TaskStore {
    /// Longest a claim may wait for a task.
    public static let maximumClaimWait: Duration = .seconds(60)

    /// Claims the most urgent ready task of any of `commandTypes` (queued → starting) with a lease.
    ///
    /// When none is ready it waits up to `wait` without polling Redis: the ``ReadyTaskWatcher`` wakes
    /// it when a task is queued, and a delayed task wakes it at its `runAt`. Returns nil when the wait
    /// ends empty-handed, or when the calling task is cancelled.
    public func claim(workerId: String, commandTypes: [String], lease: Duration? = nil, wait: Duration = .zero) async throws -> ClaimedTask? {
        try InputCheck.word(workerId, "workerId", length: TaskLimits.workerIdLength)
        try InputCheck.range(commandTypes.count, "the number of commandTypes", TaskLimits.claimCommandTypes)
        for commandType in commandTypes { try InputCheck.name(commandType, "commandType", length: TaskLimits.commandTypeLength) }
        let leaseMs = try TaskLimits.checkedLease(lease ?? configuration.leaseDuration)
        guard wait >= .zero, wait <= Self.maximumClaimWait else {
            throw InputCheck.invalid("the claim wait must be between 0 and \(Self.maximumClaimWait), got \(wait)")
        }

        let deadline = ContinuousClock.now + wait
        let queues = claimOrder(commandTypes: commandTypes)
        let start = DefaultTracerClock.now
        while true {
            let generation = readyTasks.generation
            var earliestRunAt: Int64?
            for (shard, commandType) in queues {
                let transition = ClaimTransition(commandType: commandType, workerId: workerId, leaseToken: Self.newLeaseToken(), leaseMs: leaseMs)
                switch try await perform(transition, in: shard) {
                case .claimed(let task):
                    TaskTracing.recordSpan("task.claim", of: task, since: start)
                    return task
                case .empty(let nextRunAt):
                    if let nextRunAt { earliestRunAt = min(earliestRunAt ?? nextRunAt, nextRunAt) }
                }
            }
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero, !Task.isCancelled else { return nil }
            var slice = remaining
            if let earliestRunAt {
                slice = min(slice, .milliseconds(max(1, earliestRunAt - clock.now())))
            }
            if !readyTasks.isWatched {
                // Without a watcher nobody rings: look again now and then rather than sleep through a task.
                slice = min(slice, .milliseconds(250))
            }
            await readyTasks.wait(since: generation, timeout: slice)
        }
    }

    /// Every (shard, commandType) pair, starting at a random one so that no queue starves the others.
    private func claimOrder(commandTypes: [String]) -> [(ShardKeys, String)] {
        var pairs: [(ShardKeys, String)] = []
        for shard in keyspace.shards {
            for commandType in commandTypes { pairs.append((shard, commandType)) }
        }
        let start = Int.random(in: 0..<pairs.count)
        return Array(pairs[start...] + pairs[..<start])
    }

    /// 128 random bits in hex: a lease token nobody can guess.
    static func newLeaseToken() -> String {
        var random = SystemRandomNumberGenerator()
        return [random.next(), random.next()].map { (value: UInt64) in
            let digits = String(value, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }.joined()
    }
}
