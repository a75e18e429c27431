import NIOCore

/// NIO decoder turning inbound bytes into ``RESPValue``s, for use with `ByteToMessageHandler`.
///
/// Partial frames are kept inside hiredis's reader between calls, so every byte is consumed as it
/// arrives and a reply is emitted as soon as its last byte is in.
public final class RESPDecoder: ByteToMessageDecoder {
    public typealias InboundOut = RESPValue

    private let reader = RESPReader()

    public init() {}

    public func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        try reader.feed(buffer)
        buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
        while let value = try reader.next() {
            context.fireChannelRead(wrapInboundOut(value))
        }
        return .needMoreData
    }

    public func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }
}

@available(*, unavailable)
extension RESPDecoder: Sendable {}
