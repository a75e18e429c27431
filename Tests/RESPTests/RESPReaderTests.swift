import NIOCore
import NIOEmbedded
import RESP
import Testing

@Suite struct RESPReaderTests {
    /// Replies with their wire form: every RESP2 type, nil forms and nesting.
    static let samples: [(String, RESPValue)] = [
        ("+OK\r\n", .simpleString("OK")),
        ("-ERR unknown command 'FOO'\r\n", .error("ERR unknown command 'FOO'")),
        (":0\r\n", .integer(0)),
        (":-9223372036854775808\r\n", .integer(.min)),
        (":1000\r\n", .integer(1000)),
        ("$5\r\nhello\r\n", "hello"),
        ("$0\r\n\r\n", ""),
        ("$6\r\na\r\nb\0c\r\n", .bulkString(ByteBuffer(bytes: Array("a\r\nb\0c".utf8)))),
        ("$-1\r\n", .null),
        ("*-1\r\n", .null),
        ("*0\r\n", .array([])),
        ("*3\r\n:1\r\n$3\r\nfoo\r\n$-1\r\n", .array([1, "foo", .null])),
        ("*2\r\n*2\r\n+a\r\n-b\r\n*1\r\n*1\r\n:7\r\n", .array([.array([.simpleString("a"), .error("b")]), .array([.array([7])])])),
    ]

    static var allBytes: [UInt8] { samples.flatMap { Array($0.0.utf8) } }

    @Test func decodesEveryType() throws {
        for (wire, expected) in Self.samples {
            let reader = RESPReader()
            try reader.feed(ByteBuffer(string: wire))
            #expect(try reader.next() == expected, "\(wire.debugDescription)")
            #expect(try reader.next() == nil)
        }
    }

    /// The whole sample stream split in two at every byte boundary yields the same replies.
    @Test func splitAtEveryByteBoundary() throws {
        let bytes = Self.allBytes
        let expected = Self.samples.map(\.1)
        for cut in 0...bytes.count {
            let reader = RESPReader()
            var got: [RESPValue] = []
            for part in [bytes[..<cut], bytes[cut...]] {
                try reader.feed(ByteBuffer(bytes: part))
                while let value = try reader.next() { got.append(value) }
            }
            #expect(got == expected, "cut at \(cut)")
        }
    }

    @Test func oneByteAtATime() throws {
        let reader = RESPReader()
        var got: [RESPValue] = []
        for byte in Self.allBytes {
            try reader.feed(ByteBuffer(bytes: [byte]))
            while let value = try reader.next() { got.append(value) }
        }
        #expect(got == Self.samples.map(\.1))
    }

    @Test func tenMegabyteBulkString() throws {
        let payload = [UInt8](repeating: UInt8(ascii: "x"), count: 10 * 1024 * 1024)
        var wire = ByteBuffer(string: "$\(payload.count)\r\n")
        wire.writeBytes(payload)
        wire.writeString("\r\n")
        let reader = RESPReader()
        // Fed in 64 KiB chunks, as a socket would deliver it.
        while wire.readableBytes > 0 {
            try reader.feed(wire.readSlice(length: min(65536, wire.readableBytes))!)
            if wire.readableBytes > 0 { #expect(try reader.next() == nil) }
        }
        guard case .bulkString(let value) = try reader.next() else {
            Issue.record("expected a bulk string")
            return
        }
        #expect(value.readableBytes == payload.count)
        #expect(value.readableBytesView.allSatisfy { $0 == UInt8(ascii: "x") })
    }

    @Test func garbageIsAProtocolErrorAndStaysOne() throws {
        let reader = RESPReader()
        try reader.feed(ByteBuffer(string: "?what\r\n"))
        #expect(throws: RESPProtocolError.self) { try reader.next() }
        // A reader that lost sync never yields anything again.
        #expect(throws: RESPProtocolError.self) { try reader.feed(ByteBuffer(string: "+OK\r\n")) }
    }

    /// hiredis 0.14 refuses replies nested deeper than 7 levels: an error, never a crash.
    @Test func tooDeepNestingIsAnError() throws {
        let reader = RESPReader()
        try reader.feed(ByteBuffer(string: String(repeating: "*1\r\n", count: 9) + ":1\r\n"))
        #expect(throws: RESPProtocolError.self) { try reader.next() }

        let fine = RESPReader()
        try fine.feed(ByteBuffer(string: String(repeating: "*1\r\n", count: 7) + ":1\r\n"))
        #expect(try fine.next() != nil)
    }

    @Test func decoderInAChannelPipeline() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RESPDecoder()))
        for byte in Self.allBytes {
            try channel.writeInbound(ByteBuffer(bytes: [byte]))
        }
        var got: [RESPValue] = []
        while let value = try channel.readInbound(as: RESPValue.self) { got.append(value) }
        #expect(got == Self.samples.map(\.1))
        _ = try channel.finish()
    }
}
