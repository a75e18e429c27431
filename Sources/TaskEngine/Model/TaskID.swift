/// Task ids are UUIDv7 strings (lowercase, 8-4-4-4-12) whose 12-bit `rand_a` field holds the shard
/// number. The shard therefore comes from the id alone and never changes when the shard count
/// grows: old tasks stay where they are, new ones spread over the new shards.
///
/// The remaining 62 bits of `rand_b` are random and the first 48 bits are the creation time in ms,
/// so ids sort by creation and cannot be guessed.
///
/// A value of this type is a well-formed id, parsed once (e.g. from a route's path) and then passed
/// on: anything else is answered "not found" without asking Redis.
public struct TaskID: Sendable, Hashable, CustomStringConvertible {
    /// The id as taskd writes it (36 characters).
    public let text: String
    /// The shard the id names.
    public let shard: Int

    /// The id in `text`, or nil when it is not a UUID.
    public init?(_ text: String) {
        guard let shard = Self.shard(of: text) else { return nil }
        self.text = text
        self.shard = shard
    }

    public var description: String { text }

    /// Most shards an id can name (the `rand_a` field has 12 bits).
    public static let maximumShards = 4096

    /// A new id for `shard` created at `milliseconds`.
    public static func make<R: RandomNumberGenerator>(shard: Int, milliseconds: Int64, using random: inout R) -> String {
        precondition((0..<maximumShards).contains(shard), "shard \(shard) out of range")
        let time = UInt64(max(0, milliseconds)) & 0xFFFF_FFFF_FFFF
        let high = time << 16 | 0x7000 | UInt64(shard)
        let low = (random.next() & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        let hex = hex16(high) + hex16(low)
        var out = ""
        out.reserveCapacity(36)
        for (i, c) in hex.enumerated() {
            if i == 8 || i == 12 || i == 16 || i == 20 { out.append("-") }
            out.append(c)
        }
        return out
    }

    public static func make(shard: Int, milliseconds: Int64) -> String {
        var random = SystemRandomNumberGenerator()
        return make(shard: shard, milliseconds: milliseconds, using: &random)
    }

    /// The shard an id belongs to, or nil when the text is not a UUID. A UUID of another version
    /// (never made by taskd) maps to shard 0, where it is simply not found.
    public static func shard(of id: String) -> Int? {
        let bytes = Array(id.utf8)
        guard bytes.count == 36 else { return nil }
        var nibbles: [UInt8] = []
        nibbles.reserveCapacity(32)
        for (i, byte) in bytes.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                guard byte == UInt8(ascii: "-") else { return nil }
                continue
            }
            guard let value = hexValue(byte) else { return nil }
            nibbles.append(value)
        }
        guard nibbles[12] == 7 else { return 0 }
        return Int(nibbles[13]) << 8 | Int(nibbles[14]) << 4 | Int(nibbles[15])
    }

    /// The creation time (ms since the epoch) in the first 48 bits of an id taskd made; nil when `id` is no UUIDv7.
    public static func milliseconds(of id: String) -> Int64? {
        guard shard(of: id) != nil else { return nil }
        let hex = id.utf8.prefix(13).filter { $0 != UInt8(ascii: "-") }
        guard hex.count == 12, let value = Int64(String(decoding: hex, as: UTF8.self), radix: 16) else { return nil }
        return value
    }

    /// Whether `id` is a well-formed UUID; anything else is answered "not found" without asking Redis.
    public static func isValid(_ id: String) -> Bool { shard(of: id) != nil }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static func hex16(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
