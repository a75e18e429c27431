/// Lower-case hex, the one encoder taskd uses (script SHA1s, secret digests, random tokens).
/// By table into a preallocated string: `String(format: "%02x")` or `String(radix:)` per byte cost
/// more than the rest of a credential check together.
public enum Hex {
    public static func encode<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let digits: StaticString = "0123456789abcdef"
        return String(unsafeUninitializedCapacity: bytes.count * 2) { buffer in
            var index = 0
            for byte in bytes {
                buffer[index] = digits.utf8Start[Int(byte >> 4)]
                buffer[index + 1] = digits.utf8Start[Int(byte & 0x0f)]
                index += 2
            }
            return index
        }
    }
}
