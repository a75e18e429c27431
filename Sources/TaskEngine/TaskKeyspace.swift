/// The key names of Lua/README.md's key schema; the only place in taskd that spells them.
///
/// The keyspace is split into shards. Every key of shard `s` starts with `<prefix>:{<tag>}:`, so all
/// of one shard's keys hash to one Redis Cluster slot and every script runs on one node. The tag is
/// chosen so that the shards spread evenly over the slots (see ``ShardTag``), hence over the masters.
public struct TaskKeyspace: Sendable, Hashable {
    public let prefix: String
    public let shardCount: Int
    /// The hash tag of each shard below `shardCount`, worked out once.
    private let tags: [String]

    public init(prefix: String = "taskd", shardCount: Int = 1) throws {
        guard !prefix.isEmpty, prefix.utf8.count <= 64,
              prefix.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F && $0 != "{" && $0 != "}" })
        else {
            throw TaskEngineError(.invalidConfiguration, "the key prefix must be 1–64 printable ASCII characters without spaces or braces, got \"\(prefix)\"")
        }
        guard (1...TaskID.maximumShards).contains(shardCount) else {
            throw TaskEngineError(.invalidConfiguration, "the shard count must be 1–\(TaskID.maximumShards), got \(shardCount)")
        }
        self.prefix = prefix
        self.shardCount = shardCount
        self.tags = (0..<shardCount).map { ShardTag.tag(prefix: prefix, shard: $0) }
    }

    public var shards: [ShardKeys] { (0..<shardCount).map(shard) }

    /// The keys of API keys, login throttling and browser sessions, under one hash tag.
    public var auth: AuthKeys { AuthKeys(prefix: prefix) }

    /// Shard `number`'s keys; a number past `shardCount` (a task made while S was larger) works too.
    public func shard(_ number: Int) -> ShardKeys {
        ShardKeys(prefix: prefix, tag: number < tags.count ? tags[number] : ShardTag.tag(prefix: prefix, shard: number), number: number)
    }

    /// The shard of a task, from its id alone; nil when the id is not a taskd id.
    public func shard(ofTask id: String) -> ShardKeys? { TaskID.shard(of: id).map(shard) }

    /// The shard a uniqueKey or Idempotency-Key lives in: a second create with the same key must
    /// land in the same shard to find it. FNV-1a, so every replica (and any language) agrees.
    public func shard(forKey key: String) -> ShardKeys {
        var hash: UInt32 = 2_166_136_261
        for byte in key.utf8 {
            hash = (hash ^ UInt32(byte)) &* 16_777_619
        }
        return shard(Int(hash % UInt32(shardCount)))
    }
}

/// The keys of one shard.
public struct ShardKeys: Sendable, Hashable {
    public let number: Int
    /// The hash tag between the braces, e.g. `taskd:0.1739` (see ``ShardTag``).
    public let tag: String
    /// `<prefix>:{<tag>}:`: scripts that find task ids inside Redis get it as ARGV[2].
    public let base: String

    init(prefix: String, tag: String, number: Int) {
        self.number = number
        self.tag = tag
        self.base = "\(prefix):{\(tag)}:"
    }

    public func task(_ id: String) -> String { base + "task:" + id }
    public func taskEvents(_ id: String) -> String { base + "task:" + id + ":events" }
    public func queue(_ commandType: String) -> String { base + "queue:" + commandType }
    public var delayed: String { base + "delayed" }
    public var leases: String { base + "leases" }
    public var updatedIndex: String { base + "index:updated" }
    public var activeIndex: String { base + "index:active" }
    public var finishedIndex: String { base + "index:finished" }
    public var objectIndex: String { base + "index:object" }
    public var unique: String { base + "unique" }
    public var idempotency: String { base + "idempotency" }
    public var events: String { base + "events" }
}

/// The keys of credentials: `<prefix>:{<prefix>:auth}:…`, one hash tag, so a cluster keeps them on
/// one node and a script may touch several of them.
public struct AuthKeys: Sendable, Hashable {
    /// `<prefix>:{<prefix>:auth}:`: `Lua/auth-throttle-2.lua` and `Lua/delete-key-2.lua` know it as `<a>`.
    public let base: String

    init(prefix: String) { self.base = "\(prefix):{\(prefix):auth}:" }

    /// Hash of one API key: role, name, salt, secretHash, createdAt.
    public func apiKey(_ id: String) -> String { base + "key:" + id }
    /// Set of every API key id.
    public var apiKeyIndex: String { base + "keys" }
    /// Hash of one browser session, named by the SHA-256 of its cookie (never the cookie itself):
    /// keyId, role, name, createdAt, expiresAt; its TTL is the session's lifetime.
    public func browserSession(_ digest: String) -> String { base + "session:" + digest }
    /// Failed authentications from one client address in the current window.
    public func failuresFrom(source: String) -> String { base + "fail:source:" + source }
    /// Failed authentications naming one key id (`-` for credentials without a valid key id).
    public func failuresFor(keyId: String) -> String { base + "fail:key:" + keyId }
    /// Unknown or ended session cookies from one client address: cookies name no key, so they are
    /// counted per address, never on a counter that other browsers share.
    public func sessionFailuresFrom(source: String) -> String { base + "fail:session:" + source }
}
