import RESP

/// `promote-delayed-1`: due delayed tasks (and retries after backoff) into their ready queues.
struct PromoteDelayedTransition: TaskTransition {
    static let scriptName = "promote-delayed"
    static let keyCount = 1

    var limit: Int

    func keys(in shard: ShardKeys) -> [String] { [shard.delayed] }

    func arguments(_ call: TransitionCall) -> [RESPArgument] {
        [call.nowArgument, .string(call.shard.base), .integer(limit)]
    }

    /// `{0, moved, nextRunAt}`: the number moved.
    func decode(_ reply: inout ScriptReplyFields) throws -> Int {
        Int(try reply.int("moved"))
    }
}

extension TaskStore {
    /// Moves delayed tasks whose `runAt` has come into their queues; returns how many moved.
    @discardableResult
    public func promoteDelayed() async throws -> Int {
        let moved = try await drainEveryShard(PromoteDelayedTransition(limit: Self.housekeepingBatch), handled: { $0 }).reduce(0, +)
        if moved > 0 { readyTasks.ring() }
        return moved
    }
}
