extension TaskOp {
    /// The ops of a JSON object `{"<opId>": {…}, …}` as the claim script builds it, each value kept
    /// as the exact text stored, in `order` (ids the object lacks are left out, ids not in `order`
    /// follow in the object's order). `""` is no ops.
    ///
    /// A scanner rather than a JSON decoder: decoding and re-encoding would reorder and reformat the
    /// snapshots a worker stored, and only the value boundaries are needed.
    static func list(fromObject text: String, order: [String]) throws -> [TaskOp] {
        guard !text.isEmpty else { return [] }
        var scanner = JSONObjectScanner(Array(text.utf8))
        let members = try scanner.members()
        let byId = Dictionary(members.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let ordered = order.compactMap { byId[$0] }
        let known = Set(order)
        return ordered + members.filter { !known.contains($0.id) }
    }
}

/// Splits one JSON object into its members' keys and raw value texts.
private struct JSONObjectScanner {
    let bytes: [UInt8]
    var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func members() throws -> [TaskOp] {
        skipSpace()
        try expect(UInt8(ascii: "{"))
        var members: [TaskOp] = []
        skipSpace()
        if peek() == UInt8(ascii: "}") { return members }
        while true {
            skipSpace()
            let keyStart = index
            try skipString()
            let key = try decodeKey(bytes[keyStart..<index])
            skipSpace()
            try expect(UInt8(ascii: ":"))
            skipSpace()
            let valueStart = index
            try skipValue()
            members.append(TaskOp(id: key, json: String(decoding: bytes[valueStart..<index], as: UTF8.self)))
            skipSpace()
            if peek() == UInt8(ascii: ",") { index += 1; continue }
            try expect(UInt8(ascii: "}"))
            return members
        }
    }

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func expect(_ byte: UInt8) throws {
        guard peek() == byte else { throw malformed() }
        index += 1
    }

    private mutating func skipSpace() {
        while let byte = peek(), byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
    }

    private mutating func skipString() throws {
        try expect(UInt8(ascii: "\""))
        while let byte = peek() {
            index += 1
            if byte == UInt8(ascii: "\\") { index += 1 } else if byte == UInt8(ascii: "\"") { return }
        }
        throw malformed()
    }

    /// Any value: strings with their escapes, nested objects and arrays by depth, scalars to the next delimiter.
    private mutating func skipValue() throws {
        guard let first = peek() else { throw malformed() }
        if first == UInt8(ascii: "\"") { return try skipString() }
        if first == UInt8(ascii: "{") || first == UInt8(ascii: "[") {
            var depth = 0
            while let byte = peek() {
                switch byte {
                case UInt8(ascii: "\""): try skipString(); continue
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { index += 1; return }
                default: break
                }
                index += 1
            }
            throw malformed()
        }
        while let byte = peek(), byte != UInt8(ascii: ","), byte != UInt8(ascii: "}"), byte != 0x20, byte != 0x0A, byte != 0x0D, byte != 0x09 {
            index += 1
        }
    }

    /// Op ids are words without quotes or backslashes (checked at create and heartbeat), so a key
    /// is its bytes between the quotes.
    private func decodeKey(_ quoted: ArraySlice<UInt8>) throws -> String {
        let inner = quoted.dropFirst().dropLast()
        guard !inner.contains(UInt8(ascii: "\\")) else { throw malformed() }
        return String(decoding: inner, as: UTF8.self)
    }

    private func malformed() -> TaskEngineError {
        TaskEngineError(.unexpectedReply, "the claim script answered op states that are not a JSON object (at byte \(index))")
    }
}
