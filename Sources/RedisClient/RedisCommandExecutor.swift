import RESP

/// Anything that runs commands: a connection, a node's pool, the client with its router.
public protocol RedisCommandExecutor: Sendable {
    /// Sends one command and returns its reply; an error reply is thrown as ``RedisServerError``.
    func send(_ command: RedisCommand) async throws -> RESPValue

    /// Sends the commands back to back and returns every reply in order, error replies as
    /// `.error` values so that one failed command does not hide the others' results.
    func pipeline(_ commands: [RedisCommand]) async throws -> [RESPValue]
}

extension RESPValue {
    /// Throws an error reply as ``RedisServerError``; returns any other reply.
    @inlinable
    public func throwingServerError() throws -> RESPValue {
        if case .error(let message) = self { throw RedisServerError(message: message) }
        return self
    }
}
