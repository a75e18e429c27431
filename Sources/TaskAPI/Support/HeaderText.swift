/// Header values trimmed in plain Swift. Foundation's `trimmingCharacters(in:)` bridges through
/// NSString on Linux: trimming the `Authorization` header with it was 4% of taskd's CPU in a
/// lifecycle benchmark, more than checking the credential itself.
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

    private static func isHTTPWhitespace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }
}
