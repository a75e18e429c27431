import RedisClient

/// A failure of the task store itself rather than a refusal of the call: what callers outside the
/// engine need to know about Redis errors without handling Redis's types.
public enum StoreFailure: Sendable, Equatable {
    /// Redis is away, slow or the connection broke: retry shortly (HTTP 503).
    case unreachable
    /// Redis answered with an error (e.g. `NOPERM`, `OOM`, `READONLY`); the words are Redis's own.
    case refused(String)

    /// What `error` says about the store; nil for the engine's own refusals and anything else.
    public init?(_ error: any Error) {
        switch error {
        case is RedisClientError: self = .unreachable
        case let error as RedisServerError: self = .refused(error.message)
        default: return nil
        }
    }
}
