import CHiredis
import NIOCore

/// Incremental RESP parser over hiredis's reply reader (`redisReaderCreate/Feed/GetReply`).
///
/// Feed it bytes as they arrive, in chunks of any size, then take complete replies with ``next()``
/// until it returns `nil`. Not thread-safe: one reader belongs to one connection's event loop.
/// This type and its file are the only place that touches hiredis's C pointers.
public final class RESPReader {
    private let reader: UnsafeMutablePointer<redisReader>
    private var failed: RESPProtocolError?

    public init() {
        guard let reader = redisReaderCreate() else {
            // hiredis returns NULL only when malloc fails; there is nothing sensible left to do.
            fatalError("hiredis could not allocate a reply reader")
        }
        self.reader = reader
    }

    deinit {
        redisReaderFree(reader)
    }

    /// Hands bytes to the parser. hiredis copies them into its own buffer.
    public func feed(_ buffer: ByteBuffer) throws {
        if let failed { throw failed }
        let status = buffer.withUnsafeReadableBytes { bytes -> Int32 in
            guard let base = bytes.baseAddress, bytes.count > 0 else { return REDIS_OK }
            return redisReaderFeed(reader, base.assumingMemoryBound(to: CChar.self), bytes.count)
        }
        if status != REDIS_OK { throw fail() }
    }

    /// The next complete reply, or `nil` when more bytes are needed.
    public func next() throws -> RESPValue? {
        if let failed { throw failed }
        var replyPointer: UnsafeMutableRawPointer?
        guard redisReaderGetReply(reader, &replyPointer) == REDIS_OK else { throw fail() }
        guard let replyPointer else { return nil }
        defer { freeReplyObject(replyPointer) }
        return Self.convert(replyPointer.assumingMemoryBound(to: redisReply.self))
    }

    private func fail() -> RESPProtocolError {
        let message = withUnsafeBytes(of: &reader.pointee.errstr) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        let error = RESPProtocolError(message: message.isEmpty ? "unreadable reply" : message)
        failed = error
        return error
    }

    private static func convert(_ reply: UnsafeMutablePointer<redisReply>) -> RESPValue {
        let r = reply.pointee
        switch r.type {
        case REDIS_REPLY_STRING:
            return .bulkString(ByteBuffer(bytes: UnsafeRawBufferPointer(start: r.str, count: r.len)))
        case REDIS_REPLY_STATUS:
            return .simpleString(text(r))
        case REDIS_REPLY_ERROR:
            return .error(text(r))
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(r.integer))
        case REDIS_REPLY_ARRAY:
            var values: [RESPValue] = []
            values.reserveCapacity(r.elements)
            for i in 0..<r.elements {
                values.append(convert(r.element[i]!))
            }
            return .array(values)
        default:
            return .null
        }
    }

    private static func text(_ r: redisReply) -> String {
        String(decoding: UnsafeRawBufferPointer(start: r.str, count: r.len), as: UTF8.self)
    }
}
