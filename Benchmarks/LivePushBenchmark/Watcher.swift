import NIOCore
import NIOHTTP1
import NIOPosix

/// Everything one SSE watcher saw, in arrival order.
struct WatcherRecord: Sendable {
    /// `version` of each event's task snapshot, its progress in thousandths (-1 when absent) and
    /// when the bytes that completed the event were read (``nowNanoseconds()``).
    var versions: [Int64] = []
    var progress: [Int64] = []
    var received: [Int64] = []
    var status = 0
    /// The response ended (chunked body's end), as it should right after the terminal event.
    var ended = false
    var sawCompleted = false
    var eventsAfterCompleted = 0
    var errorEvents: [String] = []
    var keepAlives = 0
    var unparsable = 0
    /// Set when the connection failed or closed before the response ended.
    var failure: String?
}

/// One `GET /v1/tasks/{taskId}/events` stream: sends the request when the connection is up, splits
/// the body into SSE frames and records each event's version, progress and arrival time. Frames are
/// parsed in place from the body buffer (no JSON decoding, no per-event allocation but the records'
/// amortised appends).
final class SSEWatcherHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let head: HTTPRequestHead
    private var pending = ByteBuffer()
    private(set) var record = WatcherRecord()
    /// Highest version seen so far.
    private(set) var newestVersion: Int64 = 0

    init(host: String, authorization: String, taskId: String, expectedEvents: Int) {
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/v1/tasks/\(taskId)/events")
        head.headers.add(name: "Host", value: host)
        head.headers.add(name: "Authorization", value: authorization)
        head.headers.add(name: "Accept", value: "text/event-stream")
        self.head = head
        record.versions.reserveCapacity(expectedEvents)
        record.progress.reserveCapacity(expectedEvents)
        record.received.reserveCapacity(expectedEvents)
    }

    func channelActive(context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let response):
            record.status = Int(response.status.code)
        case .body(var part):
            let now = nowNanoseconds()
            if pending.readableBytes == 0 { pending = part } else { pending.writeBuffer(&part) }
            parseFrames(at: now)
        case .end:
            record.ended = true
            if pending.readableBytes > 0 { record.unparsable += 1 }
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !record.ended, record.failure == nil { record.failure = "\(error)" }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !record.ended, record.failure == nil { record.failure = "connection closed before the stream ended" }
        context.fireChannelInactive()
    }

    /// Consumes every complete frame (up to a blank line) in `pending`.
    private func parseFrames(at now: Int64) {
        while true {
            let consumed = pending.withUnsafeReadableBytes { bytes -> Int? in
                guard let end = frameEnd(bytes) else { return nil }
                parseFrame(UnsafeRawBufferPointer(rebasing: bytes[..<end]), at: now)
                return end + 2
            }
            guard let consumed else { break }
            pending.moveReaderIndex(forwardBy: consumed)
        }
        if pending.readableBytes == 0 { pending.clear() } else if pending.readerIndex > 65_536 { pending.discardReadBytes() }
    }

    /// Index of the first "\n\n".
    private func frameEnd(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= 2 else { return nil }
        var i = 0
        while i < bytes.count - 1 {
            if bytes[i] == 0x0A, bytes[i + 1] == 0x0A { return i }
            i += 1
        }
        return nil
    }

    private func parseFrame(_ frame: UnsafeRawBufferPointer, at now: Int64) {
        var lineStart = 0
        var kindIsError = false
        var data: UnsafeRawBufferPointer?
        while lineStart < frame.count {
            var lineEnd = lineStart
            while lineEnd < frame.count, frame[lineEnd] != 0x0A { lineEnd += 1 }
            let line = UnsafeRawBufferPointer(rebasing: frame[lineStart..<lineEnd])
            if line.starts(with: "event: error".utf8) { kindIsError = true }
            if line.starts(with: "data: ".utf8) { data = UnsafeRawBufferPointer(rebasing: line[6...]) }
            if line.first == UInt8(ascii: ":") { record.keepAlives += 1 }
            lineStart = lineEnd + 1
        }
        guard let data else { return }
        if kindIsError {
            record.errorEvents.append(String(decoding: data.prefix(300), as: UTF8.self))
            return
        }
        guard let version = thousandths(after: "\"version\":", in: data).map({ $0 / 1000 }) else {
            record.unparsable += 1
            return
        }
        if record.sawCompleted { record.eventsAfterCompleted += 1 }
        record.versions.append(version)
        record.progress.append(thousandths(after: "\"progress\":", in: data) ?? -1)
        record.received.append(now)
        newestVersion = max(newestVersion, version)
        if find("\"lifecycleStatus\":\"completed\"", in: data) != nil { record.sawCompleted = true }
    }
}

/// A running watcher: its channel and (bound to the channel's loop) its handler.
struct Watcher: Sendable {
    let task: Int
    let replica: Int
    let channel: any Channel
    let handler: NIOLoopBound<SSEWatcherHandler>

    static func open(task: Int, taskId: String, replica: Int, host: String, port: Int, authorization: String,
                     expectedEvents: Int, on group: any EventLoopGroup) async throws -> Watcher {
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(SSEWatcherHandler(
                        host: "\(host):\(port)", authorization: authorization, taskId: taskId, expectedEvents: expectedEvents))
                }
            }
            .connect(host: host, port: port).get()
        let handler = try await channel.eventLoop.submit {
            NIOLoopBound(try channel.pipeline.syncOperations.handler(type: SSEWatcherHandler.self), eventLoop: channel.eventLoop)
        }.get()
        return Watcher(task: task, replica: replica, channel: channel, handler: handler)
    }

    /// (newest version seen, whether the stream is over: ended or failed).
    func progress() -> EventLoopFuture<(newest: Int64, over: Bool)> {
        let handler = self.handler
        return channel.eventLoop.submit {
            let value = handler.value
            return (value.newestVersion, value.record.ended || value.record.failure != nil)
        }
    }

    func snapshot() -> EventLoopFuture<WatcherRecord> {
        let handler = self.handler
        return channel.eventLoop.submit { handler.value.record }
    }
}
