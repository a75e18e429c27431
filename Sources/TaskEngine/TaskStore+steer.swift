import RESP

public struct CancelResult: Sendable, Hashable {
    /// `cancelled` at once (queued, or forced), or `cancelling` until the worker acknowledges.
    public var status: TaskStatus
    public var version: Int64
}

extension TaskStore {
    /// Cancels a task: queued → cancelled; leased → cancelling (refused with `notCancellable` in the
    /// commit phase unless `force`); `force` → cancelled at once, fencing the worker's lease.
    public func cancel(_ id: String, force: Bool = false) async throws -> CancelResult {
        let shard = try shard(ofTask: id)
        // The script needs the queue of the task's commandType; commandType never changes, so this
        // read cannot race with anything.
        guard let commandType = try await redis.send(.init("HGET", [.string(shard.task(id)), "commandType"], keys: [shard.task(id)])).string else {
            throw TaskEngineError(.notFound, "task \(id) does not exist (unknown, deleted, or its result expired)", taskId: id)
        }
        let keys = [
            shard.task(id), shard.taskEvents(id), shard.queue(commandType), shard.delayed, shard.leases,
            shard.activeIndex, shard.updatedIndex, shard.finishedIndex, shard.unique, shard.idempotency, shard.events,
        ]
        let reply = try await run(scripts.cancel, keys: keys, [
            .string(String(clock.now())), force ? "1" : "0", taskEventsMaxLen, shardEventsMaxLen,
        ], taskId: id)
        return CancelResult(status: try reply.status(1), version: reply.int(2) ?? 0)
    }

    /// Dismisses a failed task (failed → dismissed); its result TTL restarts. Returns the new version.
    @discardableResult
    public func dismiss(_ id: String) async throws -> Int64 {
        let shard = try shard(ofTask: id)
        let keys = [shard.task(id), shard.taskEvents(id), shard.updatedIndex, shard.finishedIndex, shard.idempotency, shard.events]
        let reply = try await run(scripts.dismiss, keys: keys, [.string(String(clock.now())), taskEventsMaxLen, shardEventsMaxLen], taskId: id)
        return reply.int(2) ?? 0
    }

    /// Removes a finished task now: its hash, its events and its index entries.
    public func delete(_ id: String) async throws {
        let shard = try shard(ofTask: id)
        let keys = [
            shard.task(id), shard.taskEvents(id), shard.updatedIndex, shard.finishedIndex, shard.objectIndex,
            shard.idempotency, shard.events,
        ]
        _ = try await run(scripts.delete, keys: keys, [.string(String(clock.now())), shardEventsMaxLen], taskId: id)
    }

    /// Keeps a finished task's result for `seconds` from now (CRDB `X-Result-TTL`); for an unfinished
    /// task it becomes the TTL applied when it finishes. Returns the new expiry of a finished task.
    @discardableResult
    public func extendResultTTL(_ id: String, seconds: Int) async throws -> Int64? {
        let shard = try shard(ofTask: id)
        try InputCheck.range(seconds, "the result TTL (seconds)", TaskLimits.resultTtl)
        let keys = [shard.task(id), shard.taskEvents(id), shard.finishedIndex, shard.idempotency]
        let reply = try await run(scripts.extendTTL, keys: keys, [.string(String(clock.now())), .integer(seconds)], taskId: id)
        return reply.int(1)
    }
}
