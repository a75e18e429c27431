import Crypto
import Foundation
import RESP
import RedisClient

/// What an API key may do (DESIGN.md §4.4).
public enum APIRole: String, Sendable, Hashable, CaseIterable, Codable {
    /// Read tasks.
    case viewer
    /// Read, create, cancel, dismiss, delete.
    case `operator`
    /// Claim tasks and drive the ones it leased.
    case worker
    /// Everything, keys included.
    case admin
}

/// An API key as listed: never its secret.
public struct APIKey: Sendable, Hashable {
    public var key: String
    public var role: APIRole
    public var name: String
    public var createdAt: Int64
}

/// API keys in Redis. The secret is stored only as SHA-256 over a per-key random salt and the secret,
/// and compared in constant time; a created secret is shown once and never again.
///
/// Keys: `<prefix>:{<prefix>:auth}:key:<key>` (hash: role, name, salt, secretHash, createdAt) and
/// `<prefix>:{<prefix>:auth}:keys` (set of key ids), one hash tag so a cluster keeps them together.
public struct APIKeyStore: Sendable {
    let redis: RedisClient
    let auth: AuthKeys
    let clock: any TaskClock

    public init(redis: RedisClient, keyspace: TaskKeyspace, clock: any TaskClock = SystemClock()) {
        self.redis = redis
        self.auth = keyspace.auth
        self.clock = clock
    }

    var base: String { auth.base }
    var indexKey: String { auth.apiKeyIndex }
    func recordKey(_ key: String) -> String { auth.apiKey(key) }

    /// Key ids: 1–128 printable ASCII characters without spaces or `:` (the separator of `key:secret`).
    public static func isValidKey(_ key: String) -> Bool {
        (1...128).contains(key.utf8.count) && key.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7F && $0 != ":" }
    }

    /// Secrets: 8–256 printable ASCII characters.
    public static func isValidSecret(_ secret: String) -> Bool {
        (8...256).contains(secret.utf8.count) && secret.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7F }
    }

    /// A new key with a random id and secret. The secret is in the reply only.
    public func create(role: APIRole, name: String) async throws -> (key: APIKey, secret: String) {
        try InputCheck.line(name, "name", length: 1...TaskLimits.nameLength.upperBound)
        let key = "tk_" + Self.randomHex(bytes: 12)
        let secret = Self.randomHex(bytes: 32)
        let record = try await put(key: key, secret: secret, role: role, name: name)
        return (record, secret)
    }

    /// Creates or replaces a key with a given secret: how the first admin comes from the configuration.
    @discardableResult
    public func put(key: String, secret: String, role: APIRole, name: String) async throws -> APIKey {
        guard Self.isValidKey(key) else {
            throw TaskEngineError(.invalidArgument, "an API key id must be 1–128 printable characters without spaces or ':'")
        }
        guard Self.isValidSecret(secret) else {
            throw TaskEngineError(.invalidArgument, "an API secret must be 8–256 printable characters without spaces")
        }
        let salt = Self.randomHex(bytes: 16)
        let now = clock.now()
        let record = recordKey(key)
        // One HSET replaces every field at once, so a concurrent verify sees the old key or the new one.
        let replies = try await redis.pipeline([
            RedisCommand("HSET", [
                .string(record), "role", .string(role.rawValue), "name", .string(name), "salt", .string(salt),
                "secretHash", .string(Self.digest(salt: salt, secret: secret)), "createdAt", .string(String(now)),
            ], keys: [record]),
            RedisCommand("SADD", [.string(indexKey), .string(key)], keys: [indexKey]),
        ])
        for reply in replies { _ = try reply.throwingServerError() }
        return APIKey(key: key, role: role, name: name, createdAt: now)
    }

    /// The key when `secret` is its secret; nil for an unknown key or a wrong secret alike.
    public func verify(key: String, secret: String) async throws -> APIKey? {
        guard Self.isValidKey(key), secret.utf8.count <= 256 else { return nil }
        let reply = try await redis.send(RedisCommand("HMGET", [.string(recordKey(key)), "role", "name", "salt", "secretHash", "createdAt"], keys: [recordKey(key)]))
        let fields = reply.array?.map(\.string) ?? []
        guard fields.count == 5, let roleText = fields[0], let role = APIRole(rawValue: roleText),
              let salt = fields[2], let stored = fields[3]
        else { return nil }
        guard Self.constantTimeEqual(Self.digest(salt: salt, secret: secret), stored) else { return nil }
        return APIKey(key: key, role: role, name: fields[1] ?? "", createdAt: fields[4].flatMap { Int64($0) } ?? 0)
    }

    public func list() async throws -> [APIKey] {
        let ids = try await redis.send(RedisCommand("SMEMBERS", [.string(indexKey)], keys: [indexKey])).array?.compactMap(\.string) ?? []
        guard !ids.isEmpty else { return [] }
        let replies = try await redis.pipeline(ids.sorted().map { id in
            RedisCommand("HMGET", [.string(recordKey(id)), "role", "name", "createdAt"], keys: [recordKey(id)])
        })
        return zip(ids.sorted(), replies).compactMap { id, reply in
            let fields = reply.array?.map(\.string) ?? []
            guard fields.count == 3, let role = fields[0].flatMap(APIRole.init(rawValue:)) else { return nil }
            return APIKey(key: id, role: role, name: fields[1] ?? "", createdAt: fields[2].flatMap { Int64($0) } ?? 0)
        }
    }

    static func digest(salt: String, secret: String) -> String {
        Hex.encode(Array(SHA256.hash(data: Array((salt + ":" + secret).utf8))))
    }

    /// Compares without stopping at the first difference, so timing tells nothing about the secret.
    public static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<x.count { difference |= x[i] ^ y[i] }
        return difference == 0
    }

    static func randomHex(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return Hex.encode((0..<bytes).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }
}
