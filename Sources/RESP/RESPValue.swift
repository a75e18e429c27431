import NIOCore

/// One RESP2 reply as Redis sent it.
///
/// Bulk strings keep their bytes in a `ByteBuffer` (binary-safe); simple strings and errors are text
/// by definition of the protocol.
public enum RESPValue: Sendable, Hashable {
    case simpleString(String)
    case error(String)
    case integer(Int64)
    case bulkString(ByteBuffer)
    case array([RESPValue])
    /// The nil bulk string (`$-1`) or nil array (`*-1`).
    case null
}

extension RESPValue {
    /// The value as text: bulk strings decoded as UTF-8, simple strings as they are, integers in decimal.
    public var string: String? {
        switch self {
        case .simpleString(let s): return s
        case .bulkString(let b): return String(buffer: b)
        case .integer(let i): return String(i)
        default: return nil
        }
    }

    /// The value as an integer: RESP integers, and bulk or simple strings that hold a decimal integer.
    public var int: Int? {
        switch self {
        case .integer(let i): return Int(exactly: i)
        case .bulkString, .simpleString: return string.flatMap { Int($0) }
        default: return nil
        }
    }

    public var array: [RESPValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The error message when this is an error reply.
    public var errorMessage: String? {
        if case .error(let message) = self { return message }
        return nil
    }
}

extension RESPValue: CustomStringConvertible {
    public var description: String {
        switch self {
        case .simpleString(let s): return "+\(s)"
        case .error(let e): return "-\(e)"
        case .integer(let i): return ":\(i)"
        case .bulkString(let b):
            return b.readableBytes <= 256 ? "\"\(String(buffer: b))\"" : "<\(b.readableBytes) bytes>"
        case .array(let a): return "[" + a.map(\.description).joined(separator: ", ") + "]"
        case .null: return "(nil)"
        }
    }
}

extension RESPValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByArrayLiteral {
    /// A bulk string, as Redis returns most values.
    public init(stringLiteral value: String) {
        self = .bulkString(ByteBuffer(string: value))
    }

    public init(integerLiteral value: Int64) {
        self = .integer(value)
    }

    public init(arrayLiteral elements: RESPValue...) {
        self = .array(elements)
    }
}
