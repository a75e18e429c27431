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

extension ByteBuffer {
    /// Writes a command as a RESP array of bulk strings: `*<n>\r\n$<len>\r\n<bytes>\r\n…`.
    @inlinable
    public mutating func writeRESPCommand(_ arguments: [RESPArgument]) {
        writeRESPHeader(UInt8(ascii: "*"), arguments.count)
        for argument in arguments {
            writeRESPArgument(argument)
        }
    }

    @inlinable
    public mutating func writeRESPArgument(_ argument: RESPArgument) {
        switch argument {
        case .string(let s):
            // utf8.count is O(1) for native strings; writing the header first avoids a second pass.
            writeRESPHeader(UInt8(ascii: "$"), s.utf8.count)
            writeString(s)
        case .bytes(let b):
            writeRESPHeader(UInt8(ascii: "$"), b.readableBytes)
            writeImmutableBuffer(b)
        case .integer(let i):
            // Formatting into a stack buffer avoids allocating a String for each integer argument.
            var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
            let count = withUnsafeMutableBytes(of: &digits) { raw in Self.formatDecimal(i, into: raw) }
            writeRESPHeader(UInt8(ascii: "$"), count)
            withUnsafeBytes(of: &digits) { raw in _ = writeBytes(UnsafeRawBufferPointer(rebasing: raw[0..<count])) }
        }
        writeInteger(UInt16(0x0D0A), endianness: .big)
    }

    @inlinable
    mutating func writeRESPHeader(_ marker: UInt8, _ count: Int) {
        writeInteger(marker)
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        let length = withUnsafeMutableBytes(of: &digits) { raw in Self.formatDecimal(count, into: raw) }
        withUnsafeBytes(of: &digits) { raw in _ = writeBytes(UnsafeRawBufferPointer(rebasing: raw[0..<length])) }
        writeInteger(UInt16(0x0D0A), endianness: .big)
    }

    /// Writes the decimal digits of `value` at the start of `buffer` (at least 20 bytes), returning their count.
    @inlinable
    static func formatDecimal(_ value: Int, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        if value == 0 {
            buffer[0] = UInt8(ascii: "0")
            return 1
        }
        var magnitude = value.magnitude
        var end = 20
        while magnitude > 0 {
            end -= 1
            buffer[end] = UInt8(ascii: "0") + UInt8(magnitude % 10)
            magnitude /= 10
        }
        if value < 0 {
            end -= 1
            buffer[end] = UInt8(ascii: "-")
        }
        let count = 20 - end
        if end > 0 {
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[end..<20]))
        }
        return count
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
