import NIOCore
import RESP

/// Who waits for the next reply: one caller, or a pipeline that is answered once, when its last reply is in.
enum ReplySink {
    case single(CheckedContinuation<RESPValue, any Error>)
    case batch(BatchReplies)

    func fail(_ error: any Error) {
        switch self {
        case .single(let continuation): continuation.resume(throwing: error)
        case .batch(let batch): batch.continuation.resume(throwing: error)
        }
    }
}

/// The replies of one pipeline, collected on the event loop and handed over in one resumption.
///
/// Unchecked: the caller creates it and hands it over through the connection's lock; from then on
/// only the event loop touches `values`, until the one resumption hands them back.
final class BatchReplies: @unchecked Sendable {
    var values: [RESPValue]
    let expected: Int
    let continuation: CheckedContinuation<[RESPValue], any Error>

    init(expected: Int, continuation: CheckedContinuation<[RESPValue], any Error>) {
        self.values = []
        self.values.reserveCapacity(expected)
        self.expected = expected
        self.continuation = continuation
    }
}

/// A sink with the time by which its (first outstanding) reply must have arrived.
struct PendingReply {
    var sink: ReplySink
    var deadline: NIODeadline
}

/// Matches replies to requests in FIFO order (Redis answers a connection's commands in the order sent)
/// and enforces the command timeout on the oldest request.
///
/// It lives on the channel's event loop; ``RedisConnection`` feeds it already-encoded bytes together
/// with their sinks, so one write and one flush serve every command submitted in the same tick.
final class RedisChannelHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let reader = RESPReader()
    private var inFlight = CircularBuffer<PendingReply>(initialCapacity: 64)
    private var context: ChannelHandlerContext?
    private var closedError: (any Error)?
    private var timeoutCheck: RepeatedTask?
    private let timeoutCheckInterval: TimeAmount

    init(commandTimeout: TimeAmount) {
        // Checking the oldest request a few times per timeout bounds the overshoot without a timer per command.
        self.timeoutCheckInterval = .nanoseconds(max(commandTimeout.nanoseconds / 4, 5_000_000))
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let loopBoundSelf = NIOLoopBound(self, eventLoop: context.eventLoop)
        timeoutCheck = context.eventLoop.scheduleRepeatedTask(
            initialDelay: timeoutCheckInterval,
            delay: timeoutCheckInterval
        ) { _ in
            loopBoundSelf.value.checkTimeout()
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timeoutCheck?.cancel()
        failAll(closedError ?? RedisClientError(.connectionClosed, "connection handler removed"))
        self.context = nil
    }

    /// Writes encoded commands and registers their sinks. Must be called on the event loop.
    func write(_ bytes: ByteBuffer, pending: [PendingReply]) {
        guard let context, closedError == nil else {
            let error = closedError ?? RedisClientError(.connectionClosed, "connection is closed")
            for p in pending { p.sink.fail(error) }
            return
        }
        inFlight.append(contentsOf: pending)
        context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        do {
            try reader.feed(bytes)
            while let value = try reader.next() {
                deliver(value, context: context)
            }
        } catch {
            fail(RedisClientError(.protocolError, "unreadable reply from Redis", underlying: error), context: context)
        }
    }

    private func deliver(_ value: RESPValue, context: ChannelHandlerContext) {
        guard let head = inFlight.first else {
            fail(RedisClientError(.protocolError, "reply without a request: \(value)"), context: context)
            return
        }
        switch head.sink {
        case .single(let continuation):
            inFlight.removeFirst()
            continuation.resume(returning: value)
        case .batch(let batch):
            batch.values.append(value)
            if batch.values.count == batch.expected {
                inFlight.removeFirst()
                batch.continuation.resume(returning: batch.values)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(closedError ?? RedisClientError(.connectionClosed, "connection to Redis closed"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(RedisClientError(.connectionClosed, "connection to Redis failed", underlying: error), context: context)
    }

    private func checkTimeout() {
        guard let context, let head = inFlight.first, head.deadline < .now() else { return }
        // A late reply would be matched to the wrong request, so the connection cannot be reused.
        fail(RedisClientError(.commandTimeout, "no reply from Redis within the command timeout"), context: context)
    }

    private func fail(_ error: any Error, context: ChannelHandlerContext) {
        if closedError == nil { closedError = error }
        failAll(error)
        context.close(promise: nil)
    }

    private func failAll(_ error: any Error) {
        if closedError == nil { closedError = error }
        while let pending = inFlight.popFirst() {
            pending.sink.fail(error)
        }
    }
}
