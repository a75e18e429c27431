import NIOCore
import NIOEmbedded
import RESP
import Testing

@Suite struct RESPEncoderTests {
    private func encode(_ arguments: [RESPArgument]) -> String {
        var buffer = ByteBuffer()
        buffer.writeRESPCommand(arguments)
        return String(buffer: buffer)
    }

    @Test func byteExact() {
        #expect(encode(["PING"]) == "*1\r\n$4\r\nPING\r\n")
        #expect(encode(["SET", "key", "value"]) == "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n")
        #expect(encode(["SET", ""]) == "*2\r\n$3\r\nSET\r\n$0\r\n\r\n")
        #expect(encode(["INCRBY", "n", .integer(-42)]) == "*3\r\n$6\r\nINCRBY\r\n$1\r\nn\r\n$3\r\n-42\r\n")
        #expect(encode([.integer(0), .integer(Int.max), .integer(Int.min)])
            == "*3\r\n$1\r\n0\r\n$19\r\n9223372036854775807\r\n$20\r\n-9223372036854775808\r\n")
        // Lengths count bytes, not characters.
        #expect(encode(["é✓"]) == "*1\r\n$5\r\né✓\r\n")
    }

    @Test func binaryArgumentIsCopiedVerbatim() {
        var buffer = ByteBuffer()
        buffer.writeRESPCommand([.bytes(ByteBuffer(bytes: [0, 13, 10, 255]))])
        #expect(Array(buffer.readableBytesView) == Array("*1\r\n$4\r\n".utf8) + [0, 13, 10, 255] + [13, 10])
    }

    @Test func encoderInAChannelPipeline() throws {
        let channel = EmbeddedChannel(handler: MessageToByteHandler(RESPCommandEncoder()))
        try channel.writeOutbound(["GET", "k"] as [RESPArgument])
        let out = try channel.readOutbound(as: ByteBuffer.self)
        #expect(out.map { String(buffer: $0) } == "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
        _ = try channel.finish()
    }
}
