import RESP

/// A task handed to a worker by ``TaskStore/claim(workerId:commandTypes:lease:wait:)``.
public struct ClaimedTask: Sendable, Hashable {
    public var id: String
    public var commandType: String
    /// JSON text given at create, nil when none.
    public var params: String?
    /// A JSON object, op id → op, `{}` when the task has no ops.
    public var ops: String
    /// Counts from 1.
    public var attempt: Int
    public var maxAttempts: Int
    /// The fencing token: every later call for this task must carry it.
    public var leaseToken: String
    public var leaseExpiresAt: Int64
    public var version: Int64
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
        try InputCheck.word(workerId, "workerId", length: TaskLimits.nameLength.lowerBound + 1...TaskLimits.nameLength.upperBound)
        try InputCheck.range(commandTypes.count, "the number of commandTypes", 1...64)
        for commandType in commandTypes { try InputCheck.name(commandType, "commandType", length: TaskLimits.commandTypeLength) }
        let leaseMs = (lease ?? configuration.leaseDuration).milliseconds
        try InputCheck.range(leaseMs, "the lease (ms)", TaskLimits.lease)
        guard wait >= .zero, wait <= Self.maximumClaimWait else {
            throw InputCheck.invalid("the claim wait must be between 0 and \(Self.maximumClaimWait), got \(wait)")
        }

        let deadline = ContinuousClock.now + wait
        let queues = claimOrder(commandTypes: commandTypes)
        while true {
            let generation = readyTasks.generation
            var earliestRunAt: Int64?
            for (shard, commandType) in queues {
                switch try await claimOne(shard: shard, commandType: commandType, workerId: workerId, leaseMs: leaseMs) {
                case .claimed(let task):
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

    private enum ClaimOutcome {
        case claimed(ClaimedTask)
        case empty(nextRunAt: Int64?)
    }

    private func claimOne(shard: ShardKeys, commandType: String, workerId: String, leaseMs: Int64) async throws -> ClaimOutcome {
        let leaseToken = Self.newLeaseToken()
        let keys = [shard.queue(commandType), shard.delayed, shard.leases, shard.updatedIndex, shard.events]
        let arguments: [RESPArgument] = [
            .string(String(clock.now())), .string(shard.base), .string(workerId), .string(leaseToken),
            .string(String(leaseMs)), "", taskEventsMaxLen, shardEventsMaxLen,
        ]
        let reply = try await run(scripts.claim, keys: keys, arguments, taskId: nil, accepting: [8])
        if reply.code == 8 {
            return .empty(nextRunAt: reply.int(1))
        }
        let params = reply.string(3)
        return .claimed(ClaimedTask(
            id: reply.string(1), commandType: reply.string(2), params: params.isEmpty ? nil : params,
            ops: reply.string(4), attempt: Int(reply.int(5) ?? 1), maxAttempts: Int(reply.int(6) ?? 1),
            leaseToken: reply.string(7), leaseExpiresAt: reply.int(8) ?? 0, version: reply.int(9) ?? 0))
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
