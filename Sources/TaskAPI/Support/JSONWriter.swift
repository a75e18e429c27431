import NIOCore

/// A value that writes itself as JSON, field by field, in the order its `writeJSON` names them.
///
/// Every response representation is one of these (issue 19): the bytes go straight into the
/// response buffer in one pass, with no intermediate dictionaries and no `JSONEncoder`, so the field
/// order is the documented one (README, "JSON field order") and two answers for the same task are
/// byte-identical.
protocol JSONWritable {
    func writeJSON(to json: inout JSONWriter)
}

/// Compact JSON text written in one pass into a `ByteBuffer`.
///
/// Optional fields that are nil are left out (as `JSONEncoder` did). Numbers are written as
/// `JSONEncoder` wrote them: integers as digits, a `Double` as its shortest round-trip text with a
/// trailing `.0` dropped (`100.0` → `100`, `42.5` → `42.5`). Strings escape `"`, `\`, every control
/// character below U+0020, and U+2028/U+2029 (line ends to JavaScript before ES2019, so the text is
/// safe to paste into a script too); `/` and other non-ASCII text are written as they are.
struct JSONWriter {
    private(set) var buffer: ByteBuffer
    /// Whether the next member or element needs a comma before it.
    private var needsComma = false

    init(capacity: Int = 512) {
        buffer = ByteBufferAllocator().buffer(capacity: capacity)
    }

    /// The text written so far, for places that want a `String` (SSE frames, stored JSON).
    var text: String { String(buffer: buffer) }

    static func text(_ value: some JSONWritable) -> String {
        var writer = JSONWriter()
        value.writeJSON(to: &writer)
        return writer.text
    }

    // MARK: Containers

    mutating func object(_ members: (inout JSONWriter) -> Void) {
        open(UInt8(ascii: "{"))
        members(&self)
        close(UInt8(ascii: "}"))
    }

    mutating func array(_ elements: (inout JSONWriter) -> Void) {
        open(UInt8(ascii: "["))
        elements(&self)
        close(UInt8(ascii: "]"))
    }

    mutating func array<Element>(_ items: some Sequence<Element>, _ element: (inout JSONWriter, Element) -> Void) {
        array { json in
            for item in items { element(&json, item) }
        }
    }

    mutating func array(_ items: some Sequence<some JSONWritable>) {
        array(items) { json, item in item.writeJSON(to: &json) }
    }

    /// A member's name; the next value written is its value. Names are the representations' own
    /// constants (ASCII, nothing to escape).
    mutating func key(_ name: StaticString) {
        if needsComma { buffer.writeInteger(UInt8(ascii: ",")) }
        buffer.writeInteger(UInt8(ascii: "\""))
        buffer.writeStaticString(name)
        buffer.writeInteger(UInt8(ascii: "\""))
        buffer.writeInteger(UInt8(ascii: ":"))
        needsComma = false
    }

    /// A member whose name comes from data (a caller's JSON object, an op id): escaped.
    mutating func key(text name: String) {
        if needsComma { buffer.writeInteger(UInt8(ascii: ",")) }
        writeEscaped(name)
        buffer.writeInteger(UInt8(ascii: ":"))
        needsComma = false
    }

    // MARK: Values

    mutating func null() {
        beginValue()
        buffer.writeStaticString("null")
    }

    mutating func value(_ flag: Bool) {
        beginValue()
        if flag { buffer.writeStaticString("true") } else { buffer.writeStaticString("false") }
    }

    mutating func value(_ number: Int) {
        value(Int64(number))
    }

    mutating func value(_ number: Int64) {
        beginValue()
        writeDigits(number)
    }

    /// Non-finite numbers cannot come from taskd's inputs (each is checked); should one appear it is
    /// written as `null` rather than as text no JSON parser accepts.
    mutating func value(_ number: Double) {
        beginValue()
        guard number.isFinite else { buffer.writeStaticString("null"); return }
        if number == number.rounded(), abs(number) < 1e15 {
            writeDigits(Int64(number))
            return
        }
        var text = number.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        buffer.writeString(text)
    }

    mutating func value(_ text: String) {
        beginValue()
        writeEscaped(text)
    }

    /// Caller-defined JSON: objects with their keys in sorted order, as taskd stores them.
    mutating func value(_ json: JSONValue) {
        switch json {
        case .null: null()
        case .bool(let flag): value(flag)
        case .number(let number): value(number)
        case .string(let text): value(text)
        case .array(let items): array(items) { writer, item in writer.value(item) }
        case .object(let members):
            object { writer in
                for name in members.keys.sorted() {
                    writer.key(text: name)
                    writer.value(members[name]!)
                }
            }
        }
    }

    // MARK: Members

    /// A member; a nil value leaves it out.
    mutating func field(_ name: StaticString, _ item: (some JSONWritable)?) {
        guard let item else { return }
        key(name)
        item.writeJSON(to: &self)
    }

    // MARK: Bytes

    private mutating func beginValue() {
        if needsComma { buffer.writeInteger(UInt8(ascii: ",")) }
        needsComma = true
    }

    private mutating func open(_ bracket: UInt8) {
        beginValue()
        buffer.writeInteger(bracket)
        needsComma = false
    }

    private mutating func close(_ bracket: UInt8) {
        buffer.writeInteger(bracket)
        needsComma = true
    }

    private mutating func writeDigits(_ number: Int64) {
        // Up to 20 characters: a small string, no allocation.
        buffer.writeString(number.description)
    }

    private mutating func writeEscaped(_ text: String) {
        buffer.writeInteger(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { bytes in
            var runStart = 0
            var index = 0
            while index < bytes.count {
                let byte = bytes[index]
                let escape: StaticString?
                var width = 1
                switch byte {
                case UInt8(ascii: "\""): escape = "\\\""
                case UInt8(ascii: "\\"): escape = "\\\\"
                case 0x0A: escape = "\\n"
                case 0x0D: escape = "\\r"
                case 0x09: escape = "\\t"
                case 0x08: escape = "\\b"
                case 0x0C: escape = "\\f"
                case 0x00..<0x20: escape = nil
                // U+2028 and U+2029 are E2 80 A8 and E2 80 A9 in UTF-8.
                case 0xE2 where index + 2 < bytes.count && bytes[index + 1] == 0x80 && (bytes[index + 2] == 0xA8 || bytes[index + 2] == 0xA9):
                    escape = bytes[index + 2] == 0xA8 ? "\\u2028" : "\\u2029"
                    width = 3
                default:
                    index += 1
                    continue
                }
                buffer.writeBytes(UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                if let escape {
                    buffer.writeStaticString(escape)
                } else {
                    buffer.writeStaticString("\\u00")
                    buffer.writeInteger(Self.hexDigits[Int(byte >> 4)])
                    buffer.writeInteger(Self.hexDigits[Int(byte & 0x0F)])
                }
                index += width
                runStart = index
            }
            buffer.writeBytes(UnsafeBufferPointer(rebasing: bytes[runStart..<bytes.count]))
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
}

/// A list answer (`GET /v1/crdb_tasks`, `/kapi/actions`): the elements in the list's order.
extension Array: JSONWritable where Element: JSONWritable {
    func writeJSON(to json: inout JSONWriter) {
        json.array(self)
    }
}

// The scalars and caller JSON, so that one `field` serves every member.
extension String: JSONWritable {
    func writeJSON(to json: inout JSONWriter) { json.value(self) }
}

extension Int: JSONWritable {
    func writeJSON(to json: inout JSONWriter) { json.value(self) }
}

extension Int64: JSONWritable {
    func writeJSON(to json: inout JSONWriter) { json.value(self) }
}

extension Double: JSONWritable {
    func writeJSON(to json: inout JSONWriter) { json.value(self) }
}

extension Bool: JSONWritable {
    func writeJSON(to json: inout JSONWriter) { json.value(self) }
}

extension JSONValue: JSONWritable {
    func writeJSON(to json: inout JSONWriter) { json.value(self) }
}
