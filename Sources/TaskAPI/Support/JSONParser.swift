import NIOCore

/// Parses JSON text (RFC 8259) straight from its bytes into a ``JSONValue``, in one pass.
///
/// Request bodies and the JSON taskd stored in Redis both go through here (issue 19): `JSONDecoder`
/// into `JSONValue` tried each type in turn and threw once per failed probe, 11% of a lifecycle's
/// CPU. This parser looks at the next byte instead, and fails once, with nil, on the first byte
/// that is not JSON: trailing commas, comments, leading zeros, bare control characters in strings,
/// unpaired surrogate escapes, invalid UTF-8 and numbers beyond `Double` are all refused, as
/// `JSONDecoder` refused them. Of duplicate member names, the last wins.
enum JSONParser {
    /// Nesting beyond this is refused. Request bodies are held to ``JSONBody/maximumDepth`` before
    /// they get here; this bound keeps the recursion safe for stored text from any writer.
    static let depthLimit = 512

    static func parse(_ buffer: ByteBuffer) -> JSONValue? {
        buffer.withUnsafeReadableBytes { raw in parse(raw.bindMemory(to: UInt8.self)) }
    }

    static func parse(_ text: String) -> JSONValue? {
        var text = text
        return text.withUTF8 { parse($0) }
    }

    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> JSONValue? {
        var cursor = Cursor(bytes: bytes)
        do {
            cursor.skipWhitespace()
            let value = try cursor.value(depth: 0)
            cursor.skipWhitespace()
            guard cursor.atEnd else { return nil }
            return value
        } catch {
            return nil
        }
    }

    private struct NotJSON: Error {}

    private struct Cursor {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        var atEnd: Bool { index >= bytes.count }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        func peek() throws -> UInt8 {
            guard index < bytes.count else { throw NotJSON() }
            return bytes[index]
        }

        mutating func expect(_ literal: StaticString) throws {
            let count = literal.utf8CodeUnitCount
            guard bytes.count - index >= count else { throw NotJSON() }
            let matches = literal.withUTF8Buffer { expected in
                (0..<count).allSatisfy { bytes[index + $0] == expected[$0] }
            }
            guard matches else { throw NotJSON() }
            index += count
        }

        mutating func value(depth: Int) throws -> JSONValue {
            switch try peek() {
            case UInt8(ascii: "{"): return try object(depth: depth + 1)
            case UInt8(ascii: "["): return try array(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try expect("true"); return .bool(true)
            case UInt8(ascii: "f"): try expect("false"); return .bool(false)
            case UInt8(ascii: "n"): try expect("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
            default: throw NotJSON()
            }
        }

        mutating func object(depth: Int) throws -> JSONValue {
            guard depth <= JSONParser.depthLimit else { throw NotJSON() }
            index += 1 // {
            var members: [String: JSONValue] = [:]
            skipWhitespace()
            if try peek() == UInt8(ascii: "}") { index += 1; return .object(members) }
            while true {
                guard try peek() == UInt8(ascii: "\"") else { throw NotJSON() }
                let name = try string()
                skipWhitespace()
                guard try peek() == UInt8(ascii: ":") else { throw NotJSON() }
                index += 1
                skipWhitespace()
                members[name] = try value(depth: depth)
                skipWhitespace()
                switch try peek() {
                case UInt8(ascii: ","): index += 1; skipWhitespace()
                case UInt8(ascii: "}"): index += 1; return .object(members)
                default: throw NotJSON()
                }
            }
        }

        mutating func array(depth: Int) throws -> JSONValue {
            guard depth <= JSONParser.depthLimit else { throw NotJSON() }
            index += 1 // [
            var items: [JSONValue] = []
            skipWhitespace()
            if try peek() == UInt8(ascii: "]") { index += 1; return .array(items) }
            while true {
                items.append(try value(depth: depth))
                skipWhitespace()
                switch try peek() {
                case UInt8(ascii: ","): index += 1; skipWhitespace()
                case UInt8(ascii: "]"): index += 1; return .array(items)
                default: throw NotJSON()
                }
            }
        }

        /// A string from its opening quote. Without escapes (the usual case) it is one scan and one
        /// copy; with them, the unescaped bytes are gathered first.
        mutating func string() throws -> String {
            index += 1 // "
            let start = index
            var ascii = true
            while true {
                let byte = try peek()
                if byte == UInt8(ascii: "\"") {
                    let run = UnsafeBufferPointer(rebasing: bytes[start..<index])
                    index += 1
                    if ascii { return String(decoding: run, as: UTF8.self) }
                    guard let text = String(validating: run, as: UTF8.self) else { throw NotJSON() }
                    return text
                }
                if byte == UInt8(ascii: "\\") { break }
                guard byte >= 0x20 else { throw NotJSON() }
                if byte >= 0x80 { ascii = false }
                index += 1
            }
            var unescaped = Array(UnsafeBufferPointer(rebasing: bytes[start..<index]))
            while true {
                let byte = try peek()
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    guard let text = String(validating: unescaped, as: UTF8.self) else { throw NotJSON() }
                    return text
                case UInt8(ascii: "\\"):
                    try escape(into: &unescaped)
                case 0x00..<0x20:
                    throw NotJSON()
                default:
                    unescaped.append(byte)
                }
            }
        }

        /// One escape after its backslash, appended as UTF-8.
        mutating func escape(into output: inout [UInt8]) throws {
            let byte = try peek()
            index += 1
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): output.append(byte)
            case UInt8(ascii: "b"): output.append(0x08)
            case UInt8(ascii: "f"): output.append(0x0C)
            case UInt8(ascii: "n"): output.append(0x0A)
            case UInt8(ascii: "r"): output.append(0x0D)
            case UInt8(ascii: "t"): output.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = UInt32(try hex4())
                if (0xD800..<0xDC00).contains(scalar) {
                    // A high surrogate must be followed by an escaped low one.
                    try expect("\\u")
                    let low = UInt32(try hex4())
                    guard (0xDC00..<0xE000).contains(low) else { throw NotJSON() }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let unicode = Unicode.Scalar(scalar) else { throw NotJSON() }
                output.append(contentsOf: UTF8.encode(unicode)!)
            default:
                throw NotJSON()
            }
        }

        mutating func hex4() throws -> UInt16 {
            guard bytes.count - index >= 4 else { throw NotJSON() }
            var value: UInt16 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw NotJSON()
                }
                value = value << 4 | UInt16(digit)
                index += 1
            }
            return value
        }

        /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`; a short integer is summed directly,
        /// anything else goes through `Double`'s own parser.
        mutating func number() throws -> Double {
            let start = index
            let negative = bytes[index] == UInt8(ascii: "-")
            if negative { index += 1 }
            let integerStart = index
            guard index < bytes.count, isDigit(bytes[index]) else { throw NotJSON() }
            if bytes[index] == UInt8(ascii: "0") {
                index += 1
            } else {
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            }
            let integerDigits = index - integerStart
            var plainInteger = true
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                plainInteger = false
                index += 1
                try digits()
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                plainInteger = false
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                try digits()
            }
            if plainInteger && integerDigits <= 15 {
                var magnitude: Int64 = 0
                for position in integerStart..<index { magnitude = magnitude * 10 + Int64(bytes[position] - UInt8(ascii: "0")) }
                return Double(negative ? -magnitude : magnitude)
            }
            guard let number = Double(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)),
                  number.isFinite
            else { throw NotJSON() }
            return number
        }

        /// One or more digits.
        mutating func digits() throws {
            guard index < bytes.count, isDigit(bytes[index]) else { throw NotJSON() }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }

        func isDigit(_ byte: UInt8) -> Bool {
            byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
        }
    }
}
