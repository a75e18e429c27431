/// Header-value helpers in plain Swift. Foundation's `trimmingCharacters(in:)` and `lowercased()`
/// bridge through NSString on Linux: parsing the `Authorization` header with them was 4% of taskd's
/// CPU in a lifecycle benchmark, more than checking the credential itself.
extension StringProtocol {
    /// Without leading and trailing spaces and tabs (HTTP's optional whitespace).
    var trimmingHTTPWhitespace: Substring {
        let text = Substring(self)
        let utf8 = text.utf8
        var start = utf8.startIndex
        var end = utf8.endIndex
        while start < end, Self.isHTTPWhitespace(utf8[start]) { start = utf8.index(after: start) }
        while end > start, Self.isHTTPWhitespace(utf8[utf8.index(before: end)]) { end = utf8.index(before: end) }
        return text[start..<end]
    }

    /// Equal to `lowercase` (which must be lower-case ASCII) ignoring ASCII case.
    func equalsASCIICaseInsensitive(_ lowercase: String) -> Bool {
        guard utf8.count == lowercase.utf8.count else { return false }
        return zip(utf8, lowercase.utf8).allSatisfy { byte, expected in
            (byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte) == expected
        }
    }

    private static func isHTTPWhitespace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }
}
