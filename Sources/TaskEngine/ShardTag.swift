import RedisClient

/// The hash tag of a shard, placed so that shards spread evenly over Redis Cluster's 16,384 slots.
///
/// Plain tags (`taskd:0`, `taskd:1`, …) land where CRC16 puts them: with 16 shards over three
/// masters that is as uneven as 7/4/5. Instead, shard `n` aims at slot `bitReverse(n)`, the n-th
/// point of a van der Corput sequence: the first 2^k shards sit at equal distances, whatever the
/// shard count, so any master that owns a share of the slots gets about that share of the shards
/// (16 shards over three equal masters: 6/5/5). The tag is `<prefix>:<n>` when that already lands
/// within 4 slots of the aim, else `<prefix>:<n>.<k>` with the smallest k ≥ 1 that does. It depends
/// on the prefix and n only, never on the shard count, so growing the count moves no shard's keys.
public enum ShardTag {
    /// Slots a tag may land away from its aim: 16,384 / 4,096, the finest grid the largest
    /// shard count can use.
    static let window = HashSlot.count / TaskID.maximumShards

    public static func tag(prefix: String, shard n: Int) -> String {
        let aim = target(of: n)
        let base = "\(prefix):\(n)"
        if inWindow(HashSlot.of(base), aim: aim) { return base }
        // CRC16 runs byte by byte: hash `<prefix>:<n>.` once, then only the digits of each k.
        let stem = HashSlot.CRC16.of(Array((base + ".").utf8))
        // k in decimal, most significant digit first, counted up in place (no String per try).
        var digits: [UInt8] = [UInt8(ascii: "1")]
        while true {
            var crc = stem
            for digit in digits { crc = HashSlot.CRC16.update(crc, digit) }
            if inWindow(Int(crc) & (HashSlot.count - 1), aim: aim) {
                return base + "." + String(decoding: digits, as: UTF8.self)
            }
            increment(&digits)
        }
    }

    private static func increment(_ digits: inout [UInt8]) {
        var index = digits.count - 1
        while index >= 0 {
            if digits[index] < UInt8(ascii: "9") {
                digits[index] += 1
                return
            }
            digits[index] = UInt8(ascii: "0")
            index -= 1
        }
        digits.insert(UInt8(ascii: "1"), at: 0)
    }

    /// The slot shard `n` aims at: n's 14 bits in reverse order (12 bits carry a shard number, so
    /// aims are multiples of 4 and no two shards share one).
    static func target(of n: Int) -> Int {
        var reversed = 0
        var value = n
        for _ in 0..<14 {
            reversed = reversed << 1 | (value & 1)
            value >>= 1
        }
        return reversed
    }

    private static func inWindow(_ slot: Int, aim: Int) -> Bool {
        slot >= aim && slot < aim + window
    }
}
