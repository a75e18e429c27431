import RESP

/// What one pass of the lease reaper did.
public struct ReapedLeases: Sendable, Hashable {
    /// Leases overdue: starting/running → impacted.
    public var impacted = 0
    /// Leases lost with attempts left: back to queued after backoff.
    public var requeued = 0
    /// Leases lost on the last attempt: failed with `worker_lost`.
    public var failed = 0
    /// Leases lost while cancelling: cancelled.
    public var cancelled = 0

    public var total: Int { impacted + requeued + failed + cancelled }

    static func += (total: inout ReapedLeases, pass: ReapedLeases) {
        total.impacted += pass.impacted
        total.requeued += pass.requeued
        total.failed += pass.failed
        total.cancelled += pass.cancelled
    }
}

/// `expire-leases-8`: overdue leases → `impacted`; after the grace → re-queued, `worker_lost` or cancelled.
struct ExpireLeasesTransition: TaskTransition {
    static let scriptName = "expire-leases"
    static let keyCount = 8

    /// nil = each task's own lease length.
    var grace: Duration?
    var limit: Int
    var backoffBase: Duration
    var backoffMax: Duration

    func keys(in shard: ShardKeys) -> [String] {
        [
            shard.leases, shard.delayed, shard.activeIndex, shard.updatedIndex, shard.finishedIndex, shard.unique,
            shard.idempotency, shard.events,
        ]
    }

    func arguments(_ call: TransitionCall) -> [RESPArgument] {
        [
            call.nowArgument, .string(call.shard.base), .string(grace.map { String($0.milliseconds) } ?? ""), .integer(limit),
            .string(String(backoffBase.milliseconds)), .string(String(backoffMax.milliseconds)),
        ] + call.streamLimits
    }

    /// `{0, impacted, requeued, failed, cancelled, nextDeadline}`
    func decode(_ reply: inout ScriptReplyFields) throws -> ReapedLeases {
        ReapedLeases(
            impacted: Int(try reply.int("impacted")), requeued: Int(try reply.int("requeued")),
            failed: Int(try reply.int("failed")), cancelled: Int(try reply.int("cancelled")))
    }
}

extension TaskStore {
    /// Most tasks one housekeeping script call handles; a pass calls again while more are due.
    static let housekeepingBatch = 100

    /// Runs a housekeeping transition on every shard, calling again on a shard while a call handled a
    /// full batch (`handled` says how many a reply handled); returns every reply.
    func drainEveryShard<T: TaskTransition>(_ transition: T, handled: (T.Reply) -> Int) async throws -> [T.Reply] {
        var replies: [T.Reply] = []
        for shard in keyspace.shards {
            while true {
                let reply = try await perform(transition, in: shard)
                replies.append(reply)
                if handled(reply) < Self.housekeepingBatch { break }
            }
        }
        return replies
    }

    /// One pass of the lease reaper over every shard: overdue → impacted, lost → re-queued or failed.
    @discardableResult
    public func reapLeases() async throws -> ReapedLeases {
        let transition = ExpireLeasesTransition(
            grace: configuration.leaseGrace, limit: Self.housekeepingBatch,
            backoffBase: configuration.retryBackoffBase, backoffMax: configuration.retryBackoffMax)
        var total = ReapedLeases()
        for pass in try await drainEveryShard(transition, handled: \.total) { total += pass }
        EngineMetrics.shared.record(total)
        return total
    }
}
