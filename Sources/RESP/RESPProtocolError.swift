/// The byte stream from the server is not valid RESP (or nests deeper than hiredis supports).
///
/// The connection that produced it cannot be trusted to stay in sync with its requests and must be closed.
public struct RESPProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String

    public init(message: String) {
        self.message = message
    }

    public var description: String { "RESP protocol error: \(message)" }
}
