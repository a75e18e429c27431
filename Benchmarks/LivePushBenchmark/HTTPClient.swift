import NIOCore
import NIOHTTP1
import NIOPosix

/// One request, as written to a `Connection` with its promise.
struct OutgoingRequest: Sendable {
    var method: HTTPMethod
    var uri: String
    var body: ByteBuffer?
}

struct IncomingResponse: Sendable {
    var status: Int
    var body: ByteBuffer
}

struct ConnectionClosed: Error {}

/// Turns an `OutgoingRequest` (written with its promise) into HTTP/1.1 parts and completes the promise
/// with the response. One request at a time per connection (the caller waits for each response).
/// As in HTTPLifecycleBenchmark.
final class RequestResponseHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = (OutgoingRequest, EventLoopPromise<IncomingResponse>)
    typealias OutboundOut = HTTPClientRequestPart

    private let host: String
    private let authorization: String
    private var pending: EventLoopPromise<IncomingResponse>?
    private var status = 0
    private var body: ByteBuffer?

    init(host: String, authorization: String) {
        self.host = host
        self.authorization = authorization
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let (request, responsePromise) = unwrapOutboundIn(data)
        precondition(pending == nil, "one request in flight per connection")
        pending = responsePromise
        var head = HTTPRequestHead(version: .http1_1, method: request.method, uri: request.uri)
        head.headers.add(name: "Host", value: host)
        if !authorization.isEmpty { head.headers.add(name: "Authorization", value: authorization) }
        if let body = request.body {
            head.headers.add(name: "Content-Type", value: "application/json")
            head.headers.add(name: "Content-Length", value: String(body.readableBytes))
        }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if let body = request.body { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.write(wrapOutboundOut(.end(nil)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
            body = nil
        case .body(var part):
            if body == nil { body = part } else { body!.writeBuffer(&part) }
        case .end:
            let promise = pending
            pending = nil
            promise?.succeed(IncomingResponse(status: status, body: body ?? ByteBuffer()))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        pending?.fail(error)
        pending = nil
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        pending?.fail(ConnectionClosed())
        pending = nil
        context.fireChannelInactive()
    }
}

/// A keep-alive HTTP/1.1 connection for plain request/response exchanges.
struct Connection: Sendable {
    let channel: any Channel

    static func connect(host: String, port: Int, authorization: String, on group: any EventLoopGroup) async throws -> Connection {
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(
                        RequestResponseHandler(host: "\(host):\(port)", authorization: authorization))
                }
            }
            .connect(host: host, port: port).get()
        return Connection(channel: channel)
    }

    /// Writes the request; the future completes on the channel's event loop.
    func start(_ request: OutgoingRequest) -> EventLoopFuture<IncomingResponse> {
        let promise = channel.eventLoop.makePromise(of: IncomingResponse.self)
        channel.writeAndFlush((request, promise), promise: nil)
        return promise.futureResult
    }

    func send(_ request: OutgoingRequest) async throws -> IncomingResponse {
        try await start(request).get()
    }

    /// `send` that insists on a 2xx answer.
    func expect(_ request: OutgoingRequest, _ what: String) async throws -> IncomingResponse {
        let response = try await send(request)
        guard (200..<300).contains(response.status) else {
            throw SetupFailed("\(what): HTTP \(response.status) \(String(buffer: response.body).prefix(300))")
        }
        return response
    }
}

struct SetupFailed: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The monotonic clock every timestamp of the run comes from, in nanoseconds.
@inline(__always) func nowNanoseconds() -> Int64 { Int64(NIODeadline.now().uptimeNanoseconds) }

/// Finds `"key":` in `bytes` and parses the JSON number after it as thousandths (three decimals at
/// most, as taskd writes progress) — no JSON decoder, no allocation. nil when absent or not a number.
func thousandths(after key: StaticString, in bytes: UnsafeRawBufferPointer) -> Int64? {
    guard var i = find(key, in: bytes) else { return nil }
    var negative = false
    if i < bytes.count, bytes[i] == UInt8(ascii: "-") { negative = true; i += 1 }
    var whole: Int64 = 0
    var digits = 0
    while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 { whole = whole * 10 + Int64(bytes[i] - 0x30); i += 1; digits += 1 }
    guard digits > 0 else { return nil }
    var fraction: Int64 = 0
    var places = 0
    if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
        i += 1
        while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
            if places < 3 { fraction = fraction * 10 + Int64(bytes[i] - 0x30); places += 1 }
            i += 1
        }
    }
    while places < 3 { fraction *= 10; places += 1 }
    let value = whole * 1000 + fraction
    return negative ? -value : value
}

/// The index just after the first occurrence of `"key":` in `bytes`.
func find(_ key: StaticString, in bytes: UnsafeRawBufferPointer) -> Int? {
    let needle = UnsafeRawBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount)
    guard needle.count > 0, bytes.count >= needle.count else { return nil }
    let first = needle[0]
    var i = 0
    let last = bytes.count - needle.count
    outer: while i <= last {
        if bytes[i] != first { i += 1; continue }
        for j in 1..<needle.count where bytes[i + j] != needle[j] { i += 1; continue outer }
        return i + needle.count
    }
    return nil
}
