import Crypto
import Foundation
import RESP
import RedisClient

/// A browser's login, as the dashboard at `/ui` uses it: the role and name of the API key it was
/// opened with, and the CSRF token the page must send with every state-changing call.
public struct BrowserSession: Sendable, Hashable {
    /// SHA-256 of the cookie, hex: the session's name in Redis. The cookie itself is never stored.
    public var id: String
    public var keyId: String
    public var role: APIRole
    public var name: String
    /// ms since the epoch.
    public var expiresAt: Int64
    /// HMAC-SHA256 of a fixed label under the cookie: only the holder of the cookie can know it, and
    /// no replica needs to store it (every one derives the same token from the same cookie).
    public var csrfToken: String

    /// The key the session acts as (its role and name as of the request; never its secret).
    public var apiKey: APIKey { APIKey(key: keyId, role: role, name: name, createdAt: 0) }
}

/// Browser sessions in Redis, so every replica honours (and forgets) the same ones: a hash per
/// session named by the SHA-256 of its cookie (``AuthKeys/browserSession(_:)``), with a TTL of the
/// session's lifetime. A session lasts only as long as its API key: deleting the key, or giving it
/// another role, ends every session opened with it.
public struct BrowserSessionStore: Sendable {
    let redis: RedisClient
    let auth: AuthKeys
    let clock: any TaskClock

    init(redis: RedisClient, keyspace: TaskKeyspace, clock: any TaskClock) {
        self.redis = redis
        self.auth = keyspace.auth
        self.clock = clock
    }

    /// Opens a session for a verified key; the cookie value is in the reply only.
    public func open(for key: APIKey, lifetime: Duration) async throws -> (cookie: String, session: BrowserSession) {
        let cookie = APIKeyStore.randomHex(bytes: 32)
        let id = Self.digest(cookie)
        let now = clock.now()
        let expiresAt = now + lifetime.milliseconds
        let record = auth.browserSession(id)
        // `expiresAt` is in the hash as well as in the TTL: were the PEXPIREAT lost, the session
        // would still end on time (``session(id:)`` checks it).
        let replies = try await redis.pipeline([
            RedisCommand("HSET", [
                .string(record), "keyId", .string(key.key), "role", .string(key.role.rawValue), "name", .string(key.name),
                "createdAt", .string(String(now)), "expiresAt", .string(String(expiresAt)),
            ], keys: [record]),
            RedisCommand("PEXPIREAT", [.string(record), .string(String(expiresAt))], keys: [record]),
        ])
        for reply in replies { _ = try reply.throwingServerError() }
        let session = BrowserSession(id: id, keyId: key.key, role: key.role, name: key.name, expiresAt: expiresAt,
                                     csrfToken: Self.csrfToken(cookie))
        return (cookie, session)
    }

    /// The live session of `cookie`; nil when it is unknown, expired, logged out, or its key is gone.
    public func find(cookie: String) async throws -> BrowserSession? {
        guard Self.isWellFormed(cookie) else { return nil }
        guard var session = try await session(id: Self.digest(cookie)) else { return nil }
        session.csrfToken = Self.csrfToken(cookie)
        return session
    }

    /// Whether `session` is still live (for streams that outlast the request that opened them).
    public func isLive(_ session: BrowserSession) async throws -> Bool {
        try await self.session(id: session.id) != nil
    }

    /// Ends a session at once, on every replica; false when there was none.
    @discardableResult
    public func revoke(_ session: BrowserSession) async throws -> Bool {
        let record = auth.browserSession(session.id)
        return try await redis.send(RedisCommand("DEL", [.string(record)], keys: [record])).throwingServerError().int == 1
    }

    /// Reads the session and then its key's current role: two round trips, both on the auth node.
    private func session(id: String) async throws -> BrowserSession? {
        let record = auth.browserSession(id)
        let fields = try await redis.send(RedisCommand("HMGET", [.string(record), "keyId", "role", "name", "expiresAt"], keys: [record]))
            .throwingServerError().array?.map(\.string) ?? []
        guard fields.count == 4, let keyId = fields[0], let role = fields[1].flatMap(APIRole.init(rawValue:)),
              let expiresAt = fields[3].flatMap({ Int64($0) }), expiresAt > clock.now()
        else { return nil }
        let keyRecord = auth.apiKey(keyId)
        let keyRole = try await redis.send(RedisCommand("HGET", [.string(keyRecord), "role"], keys: [keyRecord])).throwingServerError().string
        guard keyRole == role.rawValue else { return nil }
        return BrowserSession(id: id, keyId: keyId, role: role, name: fields[2] ?? "", expiresAt: expiresAt, csrfToken: "")
    }

    /// Cookies taskd makes: 64 hex digits. Anything else is refused without a Redis call.
    static func isWellFormed(_ cookie: String) -> Bool {
        cookie.utf8.count == 64 && cookie.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    static func digest(_ cookie: String) -> String {
        Hex.encode(Array(SHA256.hash(data: Array(cookie.utf8))))
    }

    static func csrfToken(_ cookie: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("taskd csrf".utf8), using: SymmetricKey(data: Array(cookie.utf8)))
        return Hex.encode(Array(mac))
    }
}
