import Foundation
import HTTPTypes
import HummingbirdCore
import NIOCore
import NIOHTTPTypes
import Synchronization

/// How many connections taskd holds and how long a connection may keep it waiting (issue 13,
/// finding 4: silent and half-sent connections stayed open for ever, and at the open-file limit
/// every request timed out).
///
/// - A connection that has not sent a complete request head within `idleTimeout` of opening or of
///   its previous response is closed: this bounds silent clients, clients that dribble a header, and
///   idle keep-alive connections alike (bytes that do not complete a head do not count as activity).
///   A request being answered is never idle, so SSE streams stay open; they send keep-alives.
/// - A request whose body has not arrived within `requestReadTimeout` of its head is answered 408
///   and its connection closed.
/// - Past `maxConnections` open connections, a new one is answered 503 `too_many_connections` with
///   `Retry-After` and closed; past `maxConnections + refusalMargin`, taskd stops accepting until one
///   closes (they wait in the listen backlog), so the refusals themselves cannot exhaust the
///   process's file descriptors. A failed `accept` (EMFILE, ENFILE) is retried after a second
///   (SwiftNIO's `AcceptBackoffHandler`, which the server's bind installs), not in a busy loop.
public struct ConnectionLimits: Sendable, Hashable {
    public var maxConnections: Int
    public var idleTimeout: Duration
    public var requestReadTimeout: Duration

    /// Connections accepted only to be refused, above `maxConnections`.
    public static let refusalMargin = 64
    /// File descriptors kept for Redis connections, the SSE hub, logs and the listener.
    public static let reservedDescriptors = 256
    public static let defaultMaxConnections = 10_000

    public init(maxConnections: Int = ConnectionLimits.defaultMaxConnections, idleTimeout: Duration = .seconds(30),
                requestReadTimeout: Duration = .seconds(30)) {
        self.maxConnections = maxConnections
        self.idleTimeout = idleTimeout
        self.requestReadTimeout = requestReadTimeout
    }

    /// The most connections this process can hold with its open-file limit: the limit less the
    /// reserve and the refusal margin. nil when the limit cannot be read or is unlimited.
    public static func openFileCeiling() -> Int? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return nil }
        return max(1, Int(clamping: limit.rlim_cur) - reservedDescriptors - refusalMargin)
    }
}

/// The connections open now, shared by every connection's `ConnectionGuard`.
final class ConnectionCount: Sendable {
    private let value = Atomic<Int>(0)

    /// Counts one more; returns the count with it.
    func open() -> Int { value.add(1, ordering: .relaxed).newValue }
    func close() { value.subtract(1, ordering: .relaxed) }
    var current: Int { value.load(ordering: .relaxed) }
}

/// One per connection, after the HTTP decoder: refuses the connection when it is one too many, and
/// bounds how long a request's body may take.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let count: ConnectionCount
    private let limits: ConnectionLimits
    private let admission: AdmissionControl?
    /// Requests passed on whose answer has not ended: a refusal written here must not overtake one.
    private var outstanding = 0
    /// The parts of a request refused here are dropped until its end.
    private var dropping = false
    private var counted = false
    private var refusing = false
    /// The request whose body is being read: its deadline.
    private var readDeadline: Scheduled<Void>?
    private var responding = false
    /// Parts of a request that timed out are dropped until its end.
    private var discarding = false

    init(count: ConnectionCount, limits: ConnectionLimits, admission: AdmissionControl? = nil) {
        self.count = count
        self.limits = limits
        self.admission = admission
    }

    func handlerAdded(context: ChannelHandlerContext) {
        counted = true
        refusing = count.open() > limits.maxConnections
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        readDeadline?.cancel()
        readDeadline = nil
        if counted {
            counted = false
            count.close()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if refusing {
            // Answer the first head and close; nothing of this connection reaches a route.
            if case .head = part {
                refusing = false
                discarding = true
                refuse(context, .serviceUnavailable, "too_many_connections",
                       "taskd holds \(limits.maxConnections) connections, its limit; retry shortly.", retryAfter: true)
            }
            return
        }
        if discarding { return }
        if dropping {
            if case .end = part { dropping = false }
            return
        }
        switch part {
        case .head(let head):
            if outstanding == 0, let refusal = admission?.refusesEarly(head) {
                dropping = true
                answer(context, refusal, close: head.headerFields[.connection]?.lowercased().contains("close") == true)
                return
            }
            outstanding += 1
            let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
            readDeadline = context.eventLoop.scheduleTask(in: .nanoseconds(Int64(limits.requestReadTimeout.nanoseconds))) {
                let (handler, context) = loopBound.value
                handler.readTimedOut(context)
            }
        case .body:
            break
        case .end:
            readDeadline?.cancel()
            readDeadline = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head: responding = true
        case .body: break
        case .end:
            responding = false
            outstanding = max(0, outstanding - 1)
            // Answered: whatever is left of its body is the server's to drain, under the idle timeout.
            readDeadline?.cancel()
            readDeadline = nil
        }
        context.write(data, promise: promise)
    }

    private func readTimedOut(_ context: ChannelHandlerContext) {
        readDeadline = nil
        discarding = true
        if responding {
            context.close(promise: nil)
        } else {
            refuse(context, .requestTimeout, "request_timeout",
                   "The request body did not arrive within \(limits.requestReadTimeout); send it at once after the head.",
                   retryAfter: false)
        }
    }

    /// Writes `answer` for a request no route saw; the connection stays open for the next request
    /// unless `close`.
    private func answer(_ context: ChannelHandlerContext, _ answer: APIError.Rendered, close: Bool) {
        var headers = answer.headers
        headers[.contentLength] = "\(answer.body.count)"
        if close { headers[.connection] = "close" }
        context.write(wrapOutboundOut(.head(HTTPResponse(status: answer.status, headerFields: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(context.channel.allocator.buffer(bytes: answer.body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        if close { context.close(promise: nil) }
    }

    /// Writes a JSON error (Redis Cloud's shape, as taskd's own routes) with `Connection: close`,
    /// then closes.
    private func refuse(_ context: ChannelHandlerContext, _ status: HTTPResponse.Status, _ code: String, _ message: String, retryAfter: Bool) {
        let error = APIError(status, code, message, headers: retryAfter ? [.retryAfter: "1"] : [:])
        answer(context, error.rendered(in: .cloud), close: true)
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
