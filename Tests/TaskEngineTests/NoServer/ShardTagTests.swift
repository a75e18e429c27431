import RedisClient
import TaskEngine
import Testing

@Suite struct ShardTagTests {
    /// The shards of any count land in slots spread so evenly that three masters with equal slot
    /// ranges (what `redis-cli --cluster create` makes) each hold their share, ±1 shard.
    @Test(arguments: [3, 8, 16, 32, 64])
    func shardsSpreadEvenlyOverThreeMasters(shards: Int) throws {
        for prefix in ["taskd", "bench", "test:x:1a2b3c4d"] {
            let keyspace = try TaskKeyspace(prefix: prefix, shardCount: shards)
            var perMaster = [0, 0, 0]
            for shard in keyspace.shards {
                let slot = HashSlot.of(shard.events)
                perMaster[slot <= 5460 ? 0 : slot <= 10922 ? 1 : 2] += 1
            }
            let share = Double(shards) / 3
            #expect(perMaster.allSatisfy { abs(Double($0) - share) <= 1 }, "\(prefix), \(shards) shards: \(perMaster)")
        }
    }

    /// A shard's keys never move when the shard count grows: the tag depends on prefix and number only.
    @Test func growingTheShardCountMovesNoShard() throws {
        let small = try TaskKeyspace(prefix: "taskd", shardCount: 8)
        let large = try TaskKeyspace(prefix: "taskd", shardCount: 64)
        #expect(small.shards.map(\.base) == Array(large.shards.prefix(8)).map(\.base))
        #expect(small.shard(40).base == large.shard(40).base)
        #expect(Set(large.shards.map { HashSlot.of($0.events) }).count == 64, "no two shards share a slot")
    }
}
