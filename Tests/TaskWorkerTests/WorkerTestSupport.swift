import Foundation
import Logging
import RedisClient
import Synchronization
import TaskEngine
import TaskWorker
import TestSupport

/// Runs `body` with a store on the test Redis under a fresh prefix (scripts loaded, the engine's
/// background services running, as a taskd replica would), on the system clock.
func withRunningStore<T: Sendable>(
    prefix: String = TestEnvironment.uniquePrefix(),
    configure: (inout TaskEngineConfiguration) -> Void = { _ in },
    _ body: @Sendable (TaskStore) async throws -> T
) async throws -> T {
    try await withClient { redis in
        var configuration = TaskEngineConfiguration(keyspace: try TaskKeyspace(prefix: prefix, shardCount: TestEnvironment.shards))
        configure(&configuration)
        let store = try TaskStore(redis: redis, configuration: configuration, logger: TestEnvironment.logger)
        try await store.loadScripts()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            for service in store.services { group.addTask { try await service.run() } }
            defer { group.cancelAll() }
            return try await body(store)
        }
    }
}

/// Runs an in-process worker for the duration of `body`; cancelling it at the end hands its tasks back.
func withWorker<T: Sendable>(
    _ store: TaskStore, _ configuration: TaskWorkerConfiguration, handler: @escaping TaskHandler,
    _ body: @Sendable (TaskWorker) async throws -> T
) async throws -> T {
    let worker = TaskWorker(store: store, configuration: configuration, logger: TestEnvironment.logger, handler: handler)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await worker.run() }
        defer { group.cancelAll() }
        return try await body(worker)
    }
}

/// A value tests and handlers share.
final class Box<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    var current: Value { value.withLock { $0 } }
    func set(_ new: Value) { value.withLock { $0 = new } }
    func update(_ change: (inout Value) -> Void) { value.withLock { change(&$0) } }
}

extension TaskStore {
    /// Every event of task `id`, oldest first.
    func history(_ id: String) async throws -> [TaskEvent] {
        try await events(ofTask: id, after: nil).events
    }
}

extension TaskEvent {
    /// Milliseconds since the epoch when Redis wrote it (from the stream entry id).
    var writtenAt: Int64 { Int64(id.prefix(while: { $0 != "-" })) ?? 0 }
}

func milliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
