/// A W3C Trace Context `traceparent` (https://www.w3.org/TR/trace-context/#traceparent-header):
/// `version-traceid-parentid-flags`, lowercase hex, 2-32-16-2 digits; version `ff` and all-zero
/// ids are invalid. Stored with a task at create so that the claim, heartbeats and the finish can
/// be spans of the trace that created it.
public enum TraceParent {
    /// Whether `value` is a traceparent of version 00 (or a later version's first 55 characters).
    public static func isValid(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard bytes.count == 55 else { return false }
        let dashes = [2, 35, 52]
        for (index, byte) in bytes.enumerated() {
            if dashes.contains(index) {
                guard byte == UInt8(ascii: "-") else { return false }
            } else {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte) else { return false }
            }
        }
        let text = Substring(value)
        let version = text.prefix(2), traceID = text.dropFirst(3).prefix(32), parentID = text.dropFirst(36).prefix(16)
        return version != "ff" && traceID.contains { $0 != "0" } && parentID.contains { $0 != "0" }
    }

    /// `value` when it is valid; nil otherwise (the W3C rule: an invalid traceparent is ignored).
    public static func parse(_ value: String?) -> String? {
        value.flatMap { isValid($0) ? $0 : nil }
    }
}
