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
    private let cache = Mutex<[Data: (key: APIKey, until: ContinuousClock.Instant)]>([:])
    static let cacheLifetime: Duration = .seconds(5)
    static let cacheLimit = 10_000

    init(keys: APIKeyStore) {
        self.keys = keys
    }

    /// The caller's key when it may use a route with `access`; throws 401 (no or wrong credentials)
    /// or 403 (valid, but the role does not allow it).
    func authorize(_ headers: HTTPFields, for access: Access) async throws -> APIKey? {
        guard access != .open else { return nil }
        guard let credentials = try Credentials.from(headers) else {
            throw APIError(.unauthorized, "missing_credentials", "This route needs credentials: HTTP Basic key:secret, Bearer key:secret, or x-api-key and x-api-secret-key.", headers: Credentials.challenge)
        }
        guard let key = try await verify(credentials) else {
            throw APIError(.unauthorized, "invalid_credentials", "The API key or its secret is wrong.", headers: Credentials.challenge)
        }
        guard access.allows(key.role) else {
            throw APIError(.forbidden, "forbidden", "The \(key.role.rawValue) role may not do this; it needs \(Self.roles(for: access)).")
        }
        return key
    }

    /// Forgets cached verifications at once (after a key is deleted on this replica).
    func forget() {
        cache.withLock { $0.removeAll() }
    }

    private func verify(_ credentials: Credentials) async throws -> APIKey? {
        let digest = Data(SHA256.hash(data: Array((credentials.key + "\u{0}" + credentials.secret).utf8)))
        let now = ContinuousClock.now
        if let hit = cache.withLock({ $0[digest] }), hit.until > now { return hit.key }
        guard let key = try await keys.verify(key: credentials.key, secret: credentials.secret) else { return nil }
        cache.withLock { cache in
            if cache.count >= Self.cacheLimit { cache.removeAll() }
            cache[digest] = (key, now + Self.cacheLifetime)
        }
        return key
    }

    static func roles(for access: Access) -> String {
        APIRole.allCases.filter(access.allows).map(\.rawValue).joined(separator: " or ")
    }
}
