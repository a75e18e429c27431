import NIOCore

/// One argument of a command, written as a RESP bulk string.
public enum RESPArgument: Sendable, Hashable {
    case string(String)
    case bytes(ByteBuffer)
    case integer(Int)
}

extension RESPArgument: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .integer(value) }
}

extension RESPArgument {
    /// An upper bound of the bytes this argument takes on the wire, header and CRLF included.
    @inlinable
    var maximumEncodedLength: Int {
        switch self {
        case .string(let s): return s.utf8.count + 25
        case .bytes(let b): return b.readableBytes + 25
        case .integer: return 45
        }
    }
}

extension ByteBuffer {
    /// Writes a command as a RESP array of bulk strings: `*<n>\r\n$<len>\r\n<bytes>\r\n…`.
    ///
    /// The whole command is written through one raw pointer after one capacity check: going through
    /// ByteBuffer's per-integer writes cost more than the rest of the client's send path together.
    @inlinable
    public mutating func writeRESPCommand(_ arguments: [RESPArgument]) {
        var bound = 25
        for argument in arguments { bound += argument.maximumEncodedLength }
        writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { out in
            var at = RESPWire.header(UInt8(ascii: "*"), arguments.count, into: out, at: 0)
            for argument in arguments {
                at = RESPWire.argument(argument, into: out, at: at)
            }
            return at
        }
    }

    /// Writes one argument as a RESP bulk string.
    @inlinable
    public mutating func writeRESPArgument(_ argument: RESPArgument) {
        writeWithUnsafeMutableBytes(minimumWritableBytes: argument.maximumEncodedLength) { out in
            RESPWire.argument(argument, into: out, at: 0)
        }
    }
}

/// Raw writers behind the encoder; each takes a position and returns the position after what it wrote.
/// Callers guarantee the capacity (see ``RESPArgument/maximumEncodedLength``).
@usableFromInline
enum RESPWire {
    @inlinable
    static func argument(_ argument: RESPArgument, into out: UnsafeMutableRawBufferPointer, at start: Int) -> Int {
        var at = start
        switch argument {
        case .string(let s):
            at = header(UInt8(ascii: "$"), s.utf8.count, into: out, at: at)
            if let written = s.utf8.withContiguousStorageIfAvailable({ bytes -> Int in
                copy(UnsafeRawBufferPointer(bytes), into: out, at: at)
            }) {
                at = written
            } else {
                for byte in s.utf8 {
                    out[at] = byte
                    at += 1
                }
            }
        case .bytes(let b):
            at = header(UInt8(ascii: "$"), b.readableBytes, into: out, at: at)
            at = b.withUnsafeReadableBytes { copy($0, into: out, at: at) }
        case .integer(let i):
            at = header(UInt8(ascii: "$"), decimalLength(i), into: out, at: at)
            at = decimal(i, into: out, at: at)
        }
        out[at] = 13
        out[at + 1] = 10
        return at + 2
    }

    @inlinable
    static func header(_ marker: UInt8, _ count: Int, into out: UnsafeMutableRawBufferPointer, at start: Int) -> Int {
        out[start] = marker
        let at = decimal(count, into: out, at: start + 1)
        out[at] = 13
        out[at + 1] = 10
        return at + 2
    }

    @inlinable
    static func copy(_ bytes: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer, at start: Int) -> Int {
        if let source = bytes.baseAddress, bytes.count > 0 {
            (out.baseAddress! + start).copyMemory(from: source, byteCount: bytes.count)
        }
        return start + bytes.count
    }

    @inlinable
    static func decimalLength(_ value: Int) -> Int {
        var magnitude = value.magnitude
        var length = value < 0 ? 2 : 1
        while magnitude >= 10 {
            magnitude /= 10
            length += 1
        }
        return length
    }

    @inlinable
    static func decimal(_ value: Int, into out: UnsafeMutableRawBufferPointer, at start: Int) -> Int {
        let end = start + decimalLength(value)
        var magnitude = value.magnitude
        var at = end
        repeat {
            at -= 1
            out[at] = UInt8(ascii: "0") + UInt8(magnitude % 10)
            magnitude /= 10
        } while magnitude > 0
        if value < 0 { out[start] = UInt8(ascii: "-") }
        return end
    }
}

/// NIO encoder for pipelines that carry commands as argument arrays.
public struct RESPCommandEncoder: MessageToByteEncoder, Sendable {
    public typealias OutboundIn = [RESPArgument]

    public init() {}

    public func encode(data: [RESPArgument], out: inout ByteBuffer) throws {
        out.writeRESPCommand(data)
    }
}
