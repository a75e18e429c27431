import RedisClient
import TestSupport
import Testing

@Suite struct RedisConfigurationTests {
    @Test func fullURL() throws {
        let c = try RedisConfiguration(url: "redis://taskd:s3cr%40t@redis.internal:6380/2")
        #expect(c.endpoints == [.init(host: "redis.internal", port: 6380)])
        #expect(c.username == "taskd")
        #expect(c.password == "s3cr@t")
        #expect(c.database == 2)
        #expect(c.tls == nil)
    }

    @Test func defaultsAndPasswordOnly() throws {
        let c = try RedisConfiguration(url: "redis://localhost")
        #expect(c.endpoints == [.init(host: "localhost", port: 6379)])
        #expect(c.username == nil && c.password == nil && c.database == 0)

        let p = try RedisConfiguration(url: "redis://:pw@127.0.0.1:7000")
        #expect(p.username == nil && p.password == "pw")

        let bare = try RedisConfiguration(url: "redis://secret@host")
        #expect(bare.password == "secret")
    }

    @Test func tlsAndIPv6() throws {
        let c = try RedisConfiguration(url: "rediss://[::1]:6390/0")
        #expect(c.tls != nil)
        #expect(c.tls?.verifyPeer == true)
        #expect(c.endpoints == [.init(host: "::1", port: 6390)])
    }

    @Test func clusterSeedList() throws {
        let c = try RedisConfiguration(url: "redis://u:p@10.0.0.1:7000, 10.0.0.2:7001,redis://10.0.0.3:7002")
        #expect(c.endpoints.map(\.port) == [7000, 7001, 7002])
        #expect(c.username == "u")
    }

    @Test(arguments: ["http://x", "redis://", "redis://host:0", "redis://host:99999", "redis://host:abc", "redis://host/x", "redis://u:%zz@h", ""])
    func rejectsBadURLs(_ url: String) {
        #expect(throws: RedisClientError.self) { try RedisConfiguration(url: url) }
    }
}

@Suite struct HashSlotTests {
    @Test func knownSlots() {
        // Values from the Redis Cluster specification and `CLUSTER KEYSLOT`.
        #expect(HashSlot.of("123456789") == 0x31C3 & 16383)
        #expect(HashSlot.of("foo") == 12182)
        #expect(HashSlot.of("bar") == 5061)
        #expect(HashSlot.of("") == 0)
    }

    @Test func hashTags() {
        #expect(HashSlot.of("{user1000}.following") == HashSlot.of("{user1000}.followers"))
        #expect(HashSlot.of("{user1000}.following") == HashSlot.of("user1000"))
        // An empty tag does not count: the whole key is hashed.
        #expect(HashSlot.of("foo{}{bar}") != HashSlot.of("bar"))
        #expect(HashSlot.of("foo{{bar}}zap") == HashSlot.of("{bar"))
    }

    @Test func crossSlotCommandIsRefused() throws {
        let command = RedisCommand("MGET", ["a", "b"], keys: ["a", "b"])
        #expect(throws: RedisClientError.self) { try command.hashSlot() }
        #expect(try RedisCommand("MGET", [], keys: ["{t}a", "{t}b"]).hashSlot() == HashSlot.of("t"))
    }
}
