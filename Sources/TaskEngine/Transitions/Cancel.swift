import RESP
import RedisClient

public struct CancelResult: Sendable, Hashable {
    /// `cancelled` at once (queued, or forced), or `cancelling` until the worker acknowledges.
    public var status: TaskStatus
    public var version: Int64
}

/// `cancel-11`: queued → cancelled; leased → cancelling (refused in the commit phase unless forced);
/// `force` → cancelled at once, fencing the worker's lease.
struct CancelTransition: TaskTransition {
    static let scriptName = "cancel"
    static let keyCount = 11

    var id: String
    /// The task's commandType, whose ready queue a queued task leaves; the script checks it.
    var commandType: String
    var force: Bool

    var taskId: String? { id }

    func keys(in shard: ShardKeys) -> [String] {
        [
            shard.task(id), shard.taskEvents(id), shard.queue(commandType), shard.delayed, shard.leases,
            shard.activeIndex, shard.updatedIndex, shard.finishedIndex, shard.unique, shard.idempotency, shard.events,
        ]
    }

    func arguments(_ call: TransitionCall) -> [RESPArgument] {
        [call.nowArgument, force ? "1" : "0"] + call.streamLimits
    }

    /// `{0, "cancelled" | "cancelling", version, changed, startedAt}`
    func decode(_ reply: inout ScriptReplyFields) throws -> Observed<CancelResult> {
        let result = CancelResult(status: try reply.status(), version: try reply.int("version"))
        let changed = try reply.flag("changed")
        let startedAt = try reply.optionalInt("startedAt")
        // A repeated cancel of a cancelling task changes nothing: not a transition. A cancel that ends
        // a claimed task (forced) ends its run: its run time counts like a completion's.
        let observation = changed ? TransitionObservation(
            commandType: commandType, status: result.status, startedAt: result.status.isFinished ? startedAt : nil) : nil
        return Observed(value: result, observation: observation)
    }

    func observation(of reply: Observed<CancelResult>) -> TransitionObservation? { reply.observation }
}

extension TaskStore {
    /// Cancels a task: queued → cancelled; leased → cancelling (refused with `notCancellable` in the
    /// commit phase unless `force`); `force` → cancelled at once, fencing the worker's lease.
    public func cancel(_ id: String, force: Bool = false) async throws -> CancelResult {
        let shard = try shard(ofTask: id)
        // The script needs the queue of the task's commandType; commandType never changes, so this
        // read cannot race with anything.
        let key = shard.task(id)
        guard let commandType = try await redis.send(RedisCommand("HGET", [.string(key), "commandType"], keys: [key])).string else {
            throw TaskEngineError(.notFound, "task \(id) does not exist (unknown, deleted, or its result expired)", taskId: id)
        }
        return try await perform(CancelTransition(id: id, commandType: commandType, force: force), in: shard).value
    }
}
