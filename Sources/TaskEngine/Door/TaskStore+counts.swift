import RESP
import RedisClient

/// How many tasks the shards hold, read from Redis so every replica reports the same figures.
public struct TaskCounts: Sendable, Hashable {
    /// Unfinished tasks (`index:active`): queued, delayed, leased, cancelling.
    public var unfinished = 0
    /// Tasks a worker holds a lease on.
    public var leased = 0
    /// Queued tasks waiting for their `runAt` (delayed starts and retries after backoff).
    public var delayed = 0
    /// Finished tasks still kept (`index:finished`), until their result TTL runs out.
    public var finished = 0
    /// Ready to claim, by commandType (only the commandTypes asked for).
    public var ready: [String: Int] = [:]
}

extension TaskStore {
    /// Counts over every shard: one pipelined `ZCARD` per index and per asked queue on each shard
    /// (4 + commandTypes commands per shard, one round trip per master).
    public func counts(readyCommandTypes commandTypes: [String] = []) async throws -> TaskCounts {
        for commandType in commandTypes { try InputCheck.name(commandType, "commandType", length: TaskLimits.commandTypeLength) }
        var commands: [RedisCommand] = []
        for shard in keyspace.shards {
            for key in [shard.activeIndex, shard.leases, shard.delayed, shard.finishedIndex] + commandTypes.map(shard.queue) {
                commands.append(RedisCommand("ZCARD", [.string(key)], keys: [key]))
            }
        }
        let replies = try await redis.pipeline(commands)
        var counts = TaskCounts()
        let perShard = 4 + commandTypes.count
        for shardIndex in 0..<keyspace.shardCount {
            let values = try replies[shardIndex * perShard..<(shardIndex + 1) * perShard].map { try $0.throwingServerError().int ?? 0 }
            counts.unfinished += values[0]
            counts.leased += values[1]
            counts.delayed += values[2]
            counts.finished += values[3]
            for (offset, commandType) in commandTypes.enumerated() { counts.ready[commandType, default: 0] += values[4 + offset] }
        }
        return counts
    }
}
