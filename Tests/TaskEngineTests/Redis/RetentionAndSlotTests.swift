import RESP
import RedisClient
@testable import TaskEngine
import TestSupport
import Testing

@Suite(.tags(.redis)) struct RetentionAndSlotTests {
    /// Every key a finished task owns expires; afterwards retention leaves no index entry naming it.
    @Test func finishedTasksExpireAndIndexesAreCleaned() async throws {
        try await withStore(clock: SystemClock()) { store in
            let created = try await store.create(NewTask(commandType: "ttl", objectName: "bdb:9", resultTtl: 2, uniqueKey: "only-one", idempotencyKey: "idem-1"))
            let id = created.id
            // A task with a uniqueKey lives in that key's shard, its Idempotency-Key record too.
            let shard = try #require(store.keyspace.shard(ofTask: id))
            #expect(shard == store.keyspace.shard(forKey: "only-one"))
            // A retry repeats its request: the same uniqueKey leads it to the same shard.
            let replay = try await store.create(NewTask(commandType: "ttl", resultTtl: 1, uniqueKey: "only-one", idempotencyKey: "idem-1"))
            #expect(replay.replayed && replay.id == id)
            let duplicate = await #expect(throws: TaskEngineError.self) { try await store.create(NewTask(commandType: "ttl", uniqueKey: "only-one")) }
            #expect(duplicate?.code == .duplicateUnique && duplicate?.taskId == id)

            let lease = try #require(try await store.claim(workerId: "w", commandTypes: ["ttl"]))
            _ = try await store.complete(id, leaseToken: lease.leaseToken)
            let expiresAt = try #require(try await store.get(id)?.expiresAt)
            #expect(try await store.redis.send(RedisCommand("HEXISTS", [.string(shard.unique), "only-one"], keys: [shard.unique])).int == 0, "unique key released")
            // The absolute expiry, not the remaining TTL: a slow machine cannot make this flaky.
            for key in [shard.task(id), shard.taskEvents(id)] {
                let expiry = try await store.redis.send(RedisCommand("PEXPIRETIME", [.string(key)], keys: [key])).int ?? -3
                #expect(expiry == Int(expiresAt) || expiry == -2, "\(key) expires with the task (-2: gone already)")
            }
            let gone = try await eventually(timeout: .seconds(15)) { try await store.get(id) == nil }
            #expect(gone)
            #expect(try await store.cleanExpired() >= 1)
            let lookups = [
                RedisCommand("ZSCORE", [.string(shard.updatedIndex), .string(id)], keys: [shard.updatedIndex]),
                RedisCommand("ZSCORE", [.string(shard.activeIndex), .string(id)], keys: [shard.activeIndex]),
                RedisCommand("HGET", [.string(shard.idempotency), "idem-1"], keys: [shard.idempotency]),
            ]
            for lookup in lookups {
                #expect(try await store.redis.send(lookup).isNull, "\(lookup.keys) still names the task")
            }
            let finished = try await store.redis.send(RedisCommand("ZCARD", [.string(shard.finishedIndex)], keys: [shard.finishedIndex])).int
            let objects = try await store.redis.send(RedisCommand("ZCARD", [.string(shard.objectIndex)], keys: [shard.objectIndex])).int
            #expect(finished == 0 && objects == 0)
        }
    }

    /// X-Result-TTL: a reader keeps a finished result longer.
    @Test func extendResultTTL() async throws {
        try await withStore(clock: SystemClock()) { store in
            let id = try await store.create(NewTask(commandType: "keep", resultTtl: 5)).id
            let lease = try #require(try await store.claim(workerId: "w", commandTypes: ["keep"]))
            _ = try await store.complete(id, leaseToken: lease.leaseToken)
            let expiresAt = try #require(try await store.extendResultTTL(id, seconds: 3600))
            #expect(expiresAt > store.now() + 3_500_000)
            let key = try #require(store.keyspace.shard(ofTask: id)).task(id)
            #expect((try await store.redis.send(RedisCommand("PTTL", [.string(key)], keys: [key])).int ?? 0) > 3_500_000)
        }
    }

    /// Every key of every script call hashes to one Redis Cluster slot, for 1 and 4 shards,
    /// including the keys scripts derive from ARGV[2]; a task lands in the shard its id names,
    /// and ids keep resolving when the shard count grows.
    @Test(arguments: [1, 4])
    func oneSlotPerCall(shards: Int) async throws {
        try await withStore(shards: shards) { store in
            for shard in store.keyspace.shards {
                let id = TaskID.make(shard: shard.number, milliseconds: store.now())
                #expect(store.keyspace.shard(ofTask: id) == shard)
                let keys = [
                    shard.task(id), shard.taskEvents(id), shard.queue("backup"), shard.delayed, shard.leases,
                    shard.updatedIndex, shard.activeIndex, shard.finishedIndex, shard.objectIndex, shard.unique,
                    shard.idempotency, shard.events,
                    // What claim-5, expire-leases-8 and promote-delayed-1 build from ARGV[2]:
                    shard.base + "task:" + id, shard.base + "task:" + id + ":events", shard.base + "queue:other",
                ]
                #expect(Set(keys.map(HashSlot.of)).count == 1, "shard \(shard.number)")
            }
            for _ in 0..<20 {
                let id = try await store.create(NewTask(commandType: "placed")).id
                let shard = try #require(store.keyspace.shard(ofTask: id))
                #expect(try await store.redis.send(RedisCommand("EXISTS", [.string(shard.task(id))], keys: [shard.task(id)])).int == 1)
                let grown = try TaskKeyspace(prefix: store.keyspace.prefix, shardCount: 8)
                #expect(grown.shard(ofTask: id) == shard, "growing the shard count moves no task")
            }
        }
    }
}
