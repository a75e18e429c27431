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

    /// The caller: its key, and the browser session when it came with the dashboard's cookie. Header
    /// credentials win over a cookie. A cookie counts only where `acceptsSession`; with
    /// `changesState` it also needs the session's CSRF token (403 without).
    func authenticate(
        _ headers: HTTPFields, for access: Access, acceptsSession: Bool, changesState: Bool, source: String
    ) async throws -> (key: APIKey?, session: BrowserSession?) {
        guard access != .open else { return (nil, nil) }
        let credentials: Credentials?
        do {
            credentials = try Credentials.from(headers)
        } catch {
            try await store?.recordFailedAuthentication(source: source, keyId: nil, limits: throttleLimits)
            throw error
        }
        if credentials == nil, let cookie = SessionCookie.value(in: headers) {
            guard acceptsSession else {
                throw APIError(.unauthorized, "session_not_accepted",
                               "The dashboard's session cookie is a credential only on /ui and the routes the dashboard calls; send key:secret credentials here.",
                               headers: Credentials.challenge)
            }
            let session = try await verifySession(cookie, source: source)
            if changesState, !SessionCookie.carriesToken(headers, of: session) {
                throw APIError(.forbidden, "csrf_token_required",
                               "A state-changing call made with the session cookie must send the session's CSRF token in X-CSRF-Token.")
            }
            return (session.apiKey, session)
        }
        guard let credentials else {
            throw APIError(.unauthorized, "missing_credentials", "This route needs credentials: HTTP Basic key:secret, Bearer key:secret, or x-api-key and x-api-secret-key.", headers: Credentials.challenge)
        }
        guard let key = try await verify(credentials, source: source) else {
            throw APIError(.unauthorized, "invalid_credentials", "The API key or its secret is wrong.", headers: Credentials.challenge)
        }
        return (key, nil)
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

    /// The live session of `cookie`. Unknown, ended and malformed cookies count as failed
    /// authentications from `source`, so cookies cannot be guessed faster than secrets.
    private func verifySession(_ cookie: String, source: String) async throws -> BrowserSession {
        guard let store else { throw Self.sessionEnded }
        if let wait = try await store.sessionBlock(source: source, limits: throttleLimits) { throw Self.throttled(wait) }
        guard let session = try await store.sessions.find(cookie: cookie) else {
            try await store.recordFailedSession(source: source, limits: throttleLimits)
            throw Self.sessionEnded
        }
        return session
    }

    static let sessionEnded = APIError(.unauthorized, "session_ended", "The session has expired or was logged out, or its API key is gone; log in again at /ui.")

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
