import Crypto
import Foundation
import HTTPTypes
import Synchronization
import TaskEngine

/// Checks credentials against the API keys in Redis and the route's access rule.
///
/// Verified keys are remembered for a few seconds (by a digest of key and secret, never the secret
/// itself), so a busy client does not cost a Redis round trip per request; a deleted key therefore
/// stops working within `cacheLifetime`.
final class Authenticator: Sendable {
    private let keys: APIKeyStore
    /// Counts failed authentications in Redis, by client address and key id, across replicas; nil
    /// (only in tests that list routes) = no throttling.
    private let store: TaskStore?
    let throttleLimits: AuthThrottleLimits
    private let cache = Mutex<[Data: (key: APIKey, until: ContinuousClock.Instant)]>([:])
    static let cacheLifetime: Duration = .seconds(5)
    static let cacheLimit = 10_000

    init(keys: APIKeyStore, store: TaskStore? = nil, throttleLimits: AuthThrottleLimits = AuthThrottleLimits()) {
        self.keys = keys
        self.store = store
        self.throttleLimits = throttleLimits
    }

    /// The caller's key, verified; nil on open routes. Throws 401 (no or wrong credentials) or 429
    /// (too many failed authentications from `source` or for the key id, checked before the secret is).
    func authenticate(_ headers: HTTPFields, for access: Access, source: String = "unknown") async throws -> APIKey? {
        guard access != .open else { return nil }
        let credentials: Credentials?
        do {
            credentials = try Credentials.from(headers)
        } catch {
            try await store?.recordFailedAuthentication(source: source, keyId: nil, limits: throttleLimits)
            throw error
        }
        guard let credentials else {
            throw APIError(.unauthorized, "missing_credentials", "This route needs credentials: HTTP Basic key:secret, Bearer key:secret, or x-api-key and x-api-secret-key.", headers: Credentials.challenge)
        }
        guard let key = try await verify(credentials, source: source) else {
            throw APIError(.unauthorized, "invalid_credentials", "The API key or its secret is wrong.", headers: Credentials.challenge)
        }
        return key
    }

    /// Throws 403 when `key`'s role may not use a route with `access`.
    static func authorize(_ key: APIKey?, for access: Access) throws {
        guard let key, !access.allows(key.role) else { return }
        throw APIError(.forbidden, "forbidden", "The \(key.role.rawValue) role may not do this; it needs \(Self.roles(for: access)).")
    }

    /// Forgets cached verifications at once (after a key is deleted on this replica).
    func forget() {
        cache.withLock { $0.removeAll() }
    }

    private func verify(_ credentials: Credentials, source: String) async throws -> APIKey? {
        let digest = Data(SHA256.hash(data: Array((credentials.key + "\u{0}" + credentials.secret).utf8)))
        let now = ContinuousClock.now
        if let hit = cache.withLock({ $0[digest] }), hit.until > now { return hit.key }
        if let store, let wait = try await store.authenticationBlock(source: source, keyId: credentials.key, limits: throttleLimits) {
            throw Self.throttled(wait)
        }
        guard let key = try await keys.verify(key: credentials.key, secret: credentials.secret) else {
            try await store?.recordFailedAuthentication(source: source, keyId: credentials.key, limits: throttleLimits)
            return nil
        }
        cache.withLock { cache in
            if cache.count >= Self.cacheLimit { cache.removeAll() }
            cache[digest] = (key, now + Self.cacheLifetime)
        }
        return key
    }

    static func throttled(_ wait: Duration) -> APIError {
        let seconds = max(1, Int((Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18).rounded(.up)))
        return APIError(.tooManyRequests, "too_many_failed_authentications",
                        "Too many failed authentications from this address or for this key; retry in \(seconds) s.",
                        headers: [.retryAfter: "\(seconds)"])
    }

    static func roles(for access: Access) -> String {
        APIRole.allCases.filter(access.allows).map(\.rawValue).joined(separator: " or ")
    }
}
