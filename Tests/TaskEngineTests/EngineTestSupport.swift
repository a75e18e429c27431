import Logging
import RESP
import RedisClient
@testable import TaskEngine
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

/// The content and `PEXPIRETIME` of every key of the test's keyspace, in key order: hashes as sorted
/// field/value pairs, sorted sets with scores, streams with their entries and last generated id. Not
/// `DUMP`: a hash past 128 fields is a hash table, which a read can rehash, and `DUMP` then writes
/// the same fields in another order. `KEYS` runs once per shard, on the node that owns the shard's
/// slot (its keys route it, as in a cluster).
func keyspaceDigest(_ store: TaskStore) async throws -> [String] {
    var keys: [String] = []
    for shard in store.keyspace.shards {
        let reply = try await store.redis.send(RedisCommand("KEYS", [.string(shard.base + "*")], keys: [shard.base]))
        keys += reply.array?.compactMap(\.string) ?? []
    }
    keys.sort()
    var digests: [String] = []
    for key in keys {
        let replies = try await store.redis.pipeline([
            RedisCommand("TYPE", [.string(key)], keys: [key]), RedisCommand("PEXPIRETIME", [.string(key)], keys: [key]),
        ])
        let type = replies[0].string ?? "?"
        let content: [RedisCommand] = switch type {
        case "hash": [RedisCommand("HGETALL", [.string(key)], keys: [key])]
        case "zset": [RedisCommand("ZRANGE", [.string(key), "0", "-1", "WITHSCORES"], keys: [key])]
        case "stream": [
            RedisCommand("XRANGE", [.string(key), "-", "+"], keys: [key]),
            RedisCommand("XINFO", ["STREAM", .string(key)], keys: [key]),
        ]
        case "string": [RedisCommand("GET", [.string(key)], keys: [key])]
        default: [RedisCommand("DUMP", [.string(key)], keys: [key])]
        }
        let values = try await store.redis.pipeline(content)
        var parts = values.map(\.description)
        if type == "hash", let pairs = values[0].array?.compactMap(\.string) {
            parts = stride(from: 0, to: pairs.count - 1, by: 2).map { "\(pairs[$0])=\(pairs[$0 + 1])" }.sorted()
        }
        digests.append("\(key) \(type) expires=\(replies[1].int ?? -3) \(parts.joined(separator: " "))")
    }
    return digests
}
