import NIOCore
import RESP

/// A command ready to send: its arguments and the keys it touches.
///
/// The keys decide where a command goes: ``hashSlot`` is what a cluster router uses, and a command
/// whose keys fall into different slots is refused before it is sent.
public struct RedisCommand: Sendable {
    public var arguments: [RESPArgument]
    public var keys: [String]

    public init(_ name: String, _ arguments: [RESPArgument] = [], keys: [String] = []) {
        self.arguments = [.string(name)] + arguments
        self.keys = keys
    }

    /// The hash slot of the command's keys, `nil` for a keyless command.
    /// Throws `crossSlot` when the keys do not share one slot.
    public func hashSlot() throws -> Int? {
        guard let first = keys.first else { return nil }
        let slot = HashSlot.of(first)
        for key in keys.dropFirst() where HashSlot.of(key) != slot {
            throw RedisClientError(.crossSlot, "keys \(first) and \(key) of \(name) hash to different slots")
        }
        return slot
    }

    public var name: String {
        if case .string(let s) = arguments.first { return s }
        return "?"
    }
}

extension RedisCommand {
    public static func get(_ key: String) -> RedisCommand {
        RedisCommand("GET", [.string(key)], keys: [key])
    }

    public static func set(_ key: String, _ value: RESPArgument) -> RedisCommand {
        RedisCommand("SET", [.string(key), value], keys: [key])
    }

    public static func del(_ keys: [String]) -> RedisCommand {
        RedisCommand("DEL", keys.map { .string($0) }, keys: keys)
    }

    public static func publish(_ channel: String, _ message: RESPArgument) -> RedisCommand {
        RedisCommand("PUBLISH", [.string(channel), message])
    }

    public static func ping() -> RedisCommand {
        RedisCommand("PING")
    }

    public static func evalsha(_ sha: String, keys: [String], arguments: [RESPArgument]) -> RedisCommand {
        RedisCommand("EVALSHA", [.string(sha), .integer(keys.count)] + keys.map { .string($0) } + arguments, keys: keys)
    }
}
