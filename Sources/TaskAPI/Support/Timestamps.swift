import Foundation

/// ISO-8601 in UTC with milliseconds, as Redis Cloud sends: `2019-08-08T09:07:39.826Z`.
enum Timestamp {
    static func iso8601(milliseconds: Int64) -> String {
        let seconds = milliseconds.floorDivided(by: 1000)
        let millis = milliseconds - seconds * 1000
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        // By hand: String(format:) goes through CoreFoundation and was ~5% of a task read's CPU.
        var text = ""
        text.reserveCapacity(24)
        append(Int(parts.tm_year) + 1900, digits: 4, to: &text)
        text.append("-")
        append(Int(parts.tm_mon) + 1, digits: 2, to: &text)
        text.append("-")
        append(Int(parts.tm_mday), digits: 2, to: &text)
        text.append("T")
        append(Int(parts.tm_hour), digits: 2, to: &text)
        text.append(":")
        append(Int(parts.tm_min), digits: 2, to: &text)
        text.append(":")
        append(Int(parts.tm_sec), digits: 2, to: &text)
        text.append(".")
        append(Int(millis), digits: 3, to: &text)
        text.append("Z")
        return text
    }

    /// `value` in decimal, zero-padded to at least `digits` (as `%0<digits>d`).
    private static func append(_ value: Int, digits: Int, to text: inout String) {
        let decimal = String(abs(value))
        if value < 0 { text.append("-") }
        if decimal.utf8.count < digits { text.append(String(repeating: "0", count: digits - decimal.utf8.count - (value < 0 ? 1 : 0))) }
        text.append(decimal)
    }

    /// Parses ISO-8601 with or without fractional seconds; nil when it is not such a time.
    static func milliseconds(iso8601 text: String) -> Int64? {
        // RFC 3339 years have four digits. The formatter also takes longer years and silently wraps
        // them (`999999999-01-01T00:00:00Z` became some other date), so refuse those first.
        let year = text.utf8.prefix(5)
        guard year.count == 5, year.prefix(4).allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
              year.last == UInt8(ascii: "-")
        else { return nil }
        let withFraction = ISO8601DateFormatter()
        withFraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        guard let date = withFraction.date(from: text) ?? plain.date(from: text) else { return nil }
        return Int64((date.timeIntervalSince1970 * 1000).rounded())
    }
}

extension Int64 {
    fileprivate func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
