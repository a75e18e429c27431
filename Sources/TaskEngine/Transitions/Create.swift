import RESP
import Tracing

/// The outcome of ``TaskStore/create(_:)``.
public struct CreatedTask: Sendable, Hashable {
    /// The new task, or with `replayed` the first task created with the same Idempotency-Key.
    public var id: String
    /// True when an earlier create with the same Idempotency-Key is answered again; nothing was written.
    public var replayed: Bool
    /// The task as it was stored: known without a read for a new task (nil when replayed).
    public var task: TaskRecord?
}

/// `create-10`: a new task → `queued` (or delayed until `runAt`).
struct CreateTransition: TaskTransition {
    static let scriptName = "create"
    static let keyCount = 10

    var id: String
    var task: NewTask
    var resultTtl: Int

    var taskId: String? { id }

    func keys(in shard: ShardKeys) -> [String] {
        [
            shard.task(id), shard.taskEvents(id), shard.queue(task.commandType), shard.delayed, shard.updatedIndex,
            shard.activeIndex, shard.objectIndex, shard.unique, shard.idempotency, shard.events,
        ]
    }

    func arguments(_ call: TransitionCall) -> [RESPArgument] {
        var arguments: [RESPArgument] = [
            call.nowArgument, .string(id), .string(task.commandType), .string(task.kind.rawValue),
            .string(task.description ?? ""), .string(task.params ?? ""), .string(task.objectName ?? ""),
            .string(task.nodeUid ?? ""), .integer(task.priority), .integer(task.maxAttempts),
            .string(task.runAt.map { String($0) } ?? ""), .integer(resultTtl), .string(task.uniqueKey ?? ""),
            .string(task.idempotencyKey ?? ""),
        ]
        arguments += call.streamLimits
        arguments.append(.string(task.traceparent ?? ""))
        arguments += task.ops.map { .string($0) }
        return arguments
    }

    /// `{0, id, replayed}`
    func decode(_ reply: inout ScriptReplyFields) throws -> (id: String, replayed: Bool) {
        (try reply.string("id"), try reply.flag("replayed"))
    }

    /// A replayed create wrote nothing.
    func observation(of reply: (id: String, replayed: Bool)) -> TransitionObservation? {
        reply.replayed ? nil : TransitionObservation(commandType: task.commandType, status: .queued)
    }
}

extension TaskStore {
    /// Creates a task (→ `queued`, or delayed until `runAt`). One round trip.
    public func create(_ new: NewTask) async throws -> CreatedTask {
        try new.validate()
        let now = clock.now()
        let shard = new.uniqueKey.map(keyspace.shard(forKey:))
            ?? new.idempotencyKey.map(keyspace.shard(forKey:))
            ?? keyspace.shard(Int.random(in: 0..<keyspace.shardCount))
        let id = TaskID.make(shard: shard.number, milliseconds: now)
        let resultTtl = new.resultTtl ?? configuration.resultTtl
        let stored: (id: String, replayed: Bool)
        if let current = ServiceContext.current, TaskTracing.traceparent(of: current) != nil {
            // In a trace: the create is a span of it, and the task keeps that span as its parent.
            stored = try await withSpan("task.create", context: current, ofKind: .producer) { span in
                span.attributes["task.id"] = id
                span.attributes["task.command_type"] = new.commandType
                var traced = new
                traced.traceparent = TaskTracing.traceparent(of: span.context) ?? new.traceparent
                return try await perform(CreateTransition(id: id, task: traced, resultTtl: resultTtl), in: shard, now: now)
            }
        } else {
            stored = try await perform(CreateTransition(id: id, task: new, resultTtl: resultTtl), in: shard, now: now)
        }
        if stored.replayed {
            return CreatedTask(id: stored.id, replayed: true, task: nil)
        }
        readyTasks.ring()
        return CreatedTask(id: id, replayed: false, task: TaskRecord(created: new, id: id, now: now, resultTtl: resultTtl))
    }
}

extension TaskRecord {
    /// The task exactly as create-10 writes it.
    public init(created new: NewTask, id: String, now: Int64, resultTtl: Int) {
        self.init(
            id: id, commandType: new.commandType, kind: new.kind, status: .queued, description: new.description,
            params: new.params, objectName: new.objectName, nodeUid: new.nodeUid, progress: 0, state: nil,
            statusDescription: nil, ops: new.ops.map { TaskOp(id: $0, json: "{}") }, cancellable: true,
            cancelRequested: false, attempt: 0, maxAttempts: new.maxAttempts, priority: new.priority,
            runAt: new.runAt.flatMap { $0 > now ? $0 : nil }, createdAt: now, updatedAt: now, startedAt: nil,
            endedAt: nil, expiresAt: nil, workerId: nil, leaseExpiresAt: nil, response: nil, errorCode: nil,
            errorMessage: nil, resultTtl: resultTtl, uniqueKey: new.uniqueKey, idempotencyKey: new.idempotencyKey,
            version: 1)
    }
}
