/// A failure on the client side: the command may or may not have reached Redis.
///
/// Replies that Redis itself sent as errors (`-ERR …`, `NOSCRIPT …`) are ``RedisServerError``s instead.
public struct RedisClientError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Sendable {
            case connectionClosed, connectTimeout, commandTimeout, unavailable, protocolError
            case authenticationFailed, invalidURL, tlsFailure, crossSlot, shutdown, unexpectedReply
        }
        fileprivate let base: Base

        /// The connection closed while the command was in flight; it may have run.
        public static let connectionClosed = Code(base: .connectionClosed)
        /// No connection could be made within the connect timeout.
        public static let connectTimeout = Code(base: .connectTimeout)
        /// No reply arrived within the command timeout; the connection was closed.
        public static let commandTimeout = Code(base: .commandTimeout)
        /// Redis cannot be reached now; the client reconnects in the background.
        public static let unavailable = Code(base: .unavailable)
        /// The server sent bytes that are not valid RESP.
        public static let protocolError = Code(base: .protocolError)
        /// AUTH or SELECT was refused while setting the connection up.
        public static let authenticationFailed = Code(base: .authenticationFailed)
        /// The Redis URL could not be understood.
        public static let invalidURL = Code(base: .invalidURL)
        /// The TLS handshake or configuration failed.
        public static let tlsFailure = Code(base: .tlsFailure)
        /// The keys of one command or script hash to different slots.
        public static let crossSlot = Code(base: .crossSlot)
        /// The client has been shut down.
        public static let shutdown = Code(base: .shutdown)
        /// Redis answered with a reply of an unexpected shape.
        public static let unexpectedReply = Code(base: .unexpectedReply)

        public var description: String { base.rawValue }
    }

    public var code: Code
    public var message: String
    public var underlying: (any Error)?

    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String {
        if let underlying { return "\(code): \(message) (\(underlying))" }
        return "\(code): \(message)"
    }
}

/// An error reply from Redis (`-ERR …`, `-NOSCRIPT …`, `-WRONGTYPE …`).
public struct RedisServerError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The whole message Redis sent, e.g. `NOSCRIPT No matching script. Please use EVAL.`
    public var message: String

    public init(message: String) {
        self.message = message
    }

    /// The first word of the message: `ERR`, `NOSCRIPT`, `WRONGTYPE`, `MOVED`, …
    public var prefix: Substring {
        message.prefix(while: { $0 != " " })
    }

    public var description: String { message }
}
