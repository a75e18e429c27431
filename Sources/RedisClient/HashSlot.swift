/// Redis Cluster's key → slot mapping: CRC16 (XMODEM) of the key, or of its `{hash tag}`, mod 16384.
public enum HashSlot {
    public static let count = 16384

    public static func of(_ key: String) -> Int {
        var key = key
        return key.withUTF8 { of(bytes: UnsafeRawBufferPointer($0)) }
    }

    public static func of(bytes: UnsafeRawBufferPointer) -> Int {
        // Only the part between the first `{` and the next `}` counts, when that part is not empty.
        var start = 0
        var end = bytes.count
        if let open = bytes.firstIndex(of: UInt8(ascii: "{")),
            let close = bytes[(open + 1)...].firstIndex(of: UInt8(ascii: "}")),
            close > open + 1
        {
            start = open + 1
            end = close
        }
        var crc: UInt16 = 0
        for i in start..<end {
            crc = CRC16.update(crc, bytes[i])
        }
        return Int(crc) & (count - 1)
    }

    /// CRC16/XMODEM, the checksum behind the slot, byte by byte (callers that try many keys with a
    /// common start hash the start once).
    public enum CRC16 {
        @inlinable
        public static func update(_ crc: UInt16, _ byte: UInt8) -> UInt16 {
            (crc << 8) ^ table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
        }

        public static func of(_ bytes: [UInt8]) -> UInt16 {
            bytes.reduce(0, update)
        }
    }

    @usableFromInline
    static let table: [UInt16] = (0..<256).map { byte -> UInt16 in
        var crc = UInt16(byte) << 8
        for _ in 0..<8 {
            crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1
        }
        return crc
    }
}
