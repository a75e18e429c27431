import Logging
import RedisClient
import TaskEngine
import TestSupport

/// Runs `body` with a store on the test Redis under a fresh key prefix, its scripts loaded.
/// The clock is pinned unless a test passes its own; background services do not run unless started.
@discardableResult
func withStore<T: Sendable>(
    shards: Int = TestEnvironment.shards,
    clock: any TaskClock = PinnedClock(),
    configure: (inout TaskEngineConfiguration) -> Void = { _ in },
    prefix: String = TestEnvironment.uniquePrefix(),
    _ body: (TaskStore) async throws -> T
) async throws -> T {
    try await withClient { redis in
        var configuration = TaskEngineConfiguration(keyspace: try TaskKeyspace(prefix: prefix, shardCount: shards))
        configure(&configuration)
        let store = try TaskStore(redis: redis, configuration: configuration, clock: clock, logger: TestEnvironment.logger)
        try await store.loadScripts()
        return try await body(store)
    }
}
