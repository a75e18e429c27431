import Crypto
import RESP

/// A Lua script with its SHA1, ready for `EVALSHA`.
public struct RedisScript: Sendable, Hashable {
    public let name: String
    /// The flattened source, includes already in place: exactly what `SCRIPT LOAD` receives.
    public let source: String
    public let sha1: String

    public init(name: String, source: String) {
        self.name = name
        self.source = source
        self.sha1 = Hex.encode(Array(Insecure.SHA1.hash(data: Array(source.utf8))))
    }
}

/// For one node's executors (a connection, a pool). ``RedisClient`` has its own `loadScripts`, which
/// loads on every master; this one has another name so that which one runs never depends on the
/// static type of the receiver.
extension RedisCommandExecutor {
    /// Loads scripts into this node ahead of their first call, so the first `EVALSHA` does not pay for a `NOSCRIPT`.
    public func loadScriptsOnNode(_ scripts: [RedisScript]) async throws {
        let replies = try await pipeline(scripts.map { RedisCommand("SCRIPT", ["LOAD", .string($0.source)]) })
        for (script, reply) in zip(scripts, replies) {
            if case .error(let message) = reply {
                throw RedisClientError(.unexpectedReply, "Redis refused script \(script.name)", underlying: RedisServerError(message: message))
            }
        }
    }
}
