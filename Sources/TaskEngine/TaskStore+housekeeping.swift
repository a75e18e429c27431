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
}

extension TaskStore {
    /// Most tasks one housekeeping script call handles; a pass calls again while more are due.
    static let housekeepingBatch = 100

    /// One pass of the lease reaper over every shard: overdue → impacted, lost → re-queued or failed.
    @discardableResult
    public func reapLeases() async throws -> ReapedLeases {
        var total = ReapedLeases()
        let grace = configuration.leaseGrace.map { String($0.milliseconds) } ?? ""
        for shard in keyspace.shards {
            let keys = [
                shard.leases, shard.delayed, shard.activeIndex, shard.updatedIndex, shard.finishedIndex, shard.unique,
                shard.idempotency, shard.events,
            ]
            while true {
                let reply = try await run(scripts.expireLeases, keys: keys, [
                    .string(String(clock.now())), .string(shard.base), .string(grace), .integer(Self.housekeepingBatch),
                    .string(String(configuration.retryBackoffBase.milliseconds)),
                    .string(String(configuration.retryBackoffMax.milliseconds)), taskEventsMaxLen, shardEventsMaxLen,
                ], taskId: nil)
                let pass = ReapedLeases(
                    impacted: Int(reply.int(1) ?? 0), requeued: Int(reply.int(2) ?? 0),
                    failed: Int(reply.int(3) ?? 0), cancelled: Int(reply.int(4) ?? 0))
                total.impacted += pass.impacted
                total.requeued += pass.requeued
                total.failed += pass.failed
                total.cancelled += pass.cancelled
                if pass.total < Self.housekeepingBatch { break }
            }
        }
        return total
    }

    /// Moves delayed tasks whose `runAt` has come into their queues; returns how many moved.
    @discardableResult
    public func promoteDelayed() async throws -> Int {
        var moved = 0
        for shard in keyspace.shards {
            while true {
                let reply = try await run(scripts.promoteDelayed, keys: [shard.delayed], [
                    .string(String(clock.now())), .string(shard.base), .integer(Self.housekeepingBatch),
                ], taskId: nil)
                let count = Int(reply.int(1) ?? 0)
                moved += count
                if count < Self.housekeepingBatch { break }
            }
        }
        if moved > 0 { readyTasks.ring() }
        return moved
    }

    /// Removes the index entries of finished tasks whose keys have expired; returns how many.
    @discardableResult
    public func cleanExpired() async throws -> Int {
        var removed = 0
        for shard in keyspace.shards {
            let keys = [shard.finishedIndex, shard.updatedIndex, shard.objectIndex, shard.idempotency]
            while true {
                let reply = try await run(scripts.retention, keys: keys, [
                    .string(String(clock.now())), .integer(Self.housekeepingBatch),
                ], taskId: nil)
                let count = Int(reply.int(1) ?? 0)
                removed += count
                if count < Self.housekeepingBatch { break }
            }
        }
        return removed
    }
}
