import RESP

/// How many failed authentications taskd tolerates before it refuses a client address or a key id
/// for the rest of a window (429 with `Retry-After`). A key id's limit is higher than an address's:
/// anyone who knows a key id can spend its failures, and a locked key locks out its real owner too
/// (until the window ends; a verification cached in the last 5 s still works).
public struct AuthThrottleLimits: Sendable, Hashable {
    public var window: Duration
    public var perSource: Int
    public var perKey: Int

    public init(window: Duration = .seconds(60), perSource: Int = 20, perKey: Int = 50) {
        self.window = window
        self.perSource = perSource
        self.perKey = perKey
    }
}

/// `auth-throttle-2`: count a failed authentication, or only check, by address and by key id.
struct AuthThrottleTransition: TaskTransition {
    static let scriptName = "auth-throttle"
    static let keyCount = 2

    enum Mode: String { case check, fail }

    var auth: AuthKeys
    var source: String
    var keyId: String?
    /// A session cookie, not a key: the second counter is the address's session failures.
    var isSession = false
    var mode: Mode
    var limits: AuthThrottleLimits

    func keys(in shard: ShardKeys) -> [String] {
        // Key ids that no key can have share one counter, so invented ids cannot grow the keyspace.
        let key = keyId.flatMap { APIKeyStore.isValidKey($0) ? $0 : nil } ?? "-"
        return [auth.failuresFrom(source: source), isSession ? auth.sessionFailuresFrom(source: source) : auth.failuresFor(keyId: key)]
    }

    func arguments(_ call: TransitionCall) -> [RESPArgument] {
        [call.nowArgument, .string(mode.rawValue), .integer(Int(limits.window.milliseconds)), .integer(limits.perSource), .integer(limits.perKey)]
    }

    /// `{0, retryAfterMs}`: nil when not blocked.
    func decode(_ reply: inout ScriptReplyFields) throws -> Duration? {
        let ms = try reply.int("retryAfterMs")
        return ms > 0 ? .milliseconds(ms) : nil
    }
}

extension TaskStore {
    /// How long `source` or `keyId` is still refused after too many failed authentications; nil
    /// when neither is. `source` is a client address (at most 64 characters are used).
    public func authenticationBlock(source: String, keyId: String?, limits: AuthThrottleLimits = AuthThrottleLimits()) async throws -> Duration? {
        try await perform(throttle(source: source, keyId: keyId, mode: .check, limits: limits), in: keyspace.shard(0))
    }

    /// Counts one failed authentication from `source` naming `keyId`; returns how long either is now
    /// refused, or nil.
    @discardableResult
    public func recordFailedAuthentication(source: String, keyId: String?, limits: AuthThrottleLimits = AuthThrottleLimits()) async throws -> Duration? {
        try await perform(throttle(source: source, keyId: keyId, mode: .fail, limits: limits), in: keyspace.shard(0))
    }

    /// How long `source` is still refused a session cookie (after too many failed authentications
    /// of any kind from it, or unknown cookies); nil when it is not.
    public func sessionBlock(source: String, limits: AuthThrottleLimits = AuthThrottleLimits()) async throws -> Duration? {
        try await perform(throttle(source: source, keyId: nil, isSession: true, mode: .check, limits: limits), in: keyspace.shard(0))
    }

    /// Counts one unknown or ended session cookie from `source`; returns how long it is now refused, or nil.
    @discardableResult
    public func recordFailedSession(source: String, limits: AuthThrottleLimits = AuthThrottleLimits()) async throws -> Duration? {
        try await perform(throttle(source: source, keyId: nil, isSession: true, mode: .fail, limits: limits), in: keyspace.shard(0))
    }

    private func throttle(source: String, keyId: String?, isSession: Bool = false, mode: AuthThrottleTransition.Mode,
                          limits: AuthThrottleLimits) -> AuthThrottleTransition {
        let printable = source.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7F }
        return AuthThrottleTransition(auth: keyspace.auth, source: printable ? String(source.prefix(64)) : "unprintable",
                                      keyId: keyId, isSession: isSession, mode: mode, limits: limits)
    }
}
