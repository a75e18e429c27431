import NIOCore
import RESP

/// What one caller waits for: the reply to one command, or every reply of a pipeline, handed over
/// in one resumption when the last of them is in.
///
/// Unchecked: the caller creates it and hands it to the event loop through the connection's lock;
/// from then on only the event loop touches it, until the one resumption. The continuations are
/// unsafe ones because the connection resumes each exactly once by construction: a request is
/// either in the connection's outbox (failed by `failOutbox`) or in the handler's `inFlight`
/// (answered by `take` or failed by `failAll`), moved between the two under the lock, never both.
/// (A checked continuation costs an allocation and an atomic per request.)
final class PendingReplies: @unchecked Sendable {
    /// By when the (first outstanding) reply must have arrived.
    let deadline: NIODeadline
    private let single: UnsafeContinuation<RESPValue, any Error>?
    private let batch: UnsafeContinuation<[RESPValue], any Error>?
    private var values: [RESPValue] = []
    private var remaining: Int

    init(deadline: NIODeadline, single continuation: UnsafeContinuation<RESPValue, any Error>) {
        self.deadline = deadline
        self.single = continuation
        self.batch = nil
        self.remaining = 1
    }

    init(deadline: NIODeadline, count: Int, batch continuation: UnsafeContinuation<[RESPValue], any Error>) {
        self.deadline = deadline
        self.single = nil
        self.batch = continuation
        self.remaining = count
        values.reserveCapacity(count)
    }

    /// Takes the next reply; returns `true` when it was the last one and the caller has been resumed.
    func take(_ value: RESPValue) -> Bool {
        if let single {
            single.resume(returning: value)
            return true
        }
        values.append(value)
        remaining -= 1
        guard remaining == 0 else { return false }
        batch?.resume(returning: values)
        values = []
        return true
    }

    func fail(_ error: any Error) {
        if let single {
            single.resume(throwing: error)
        } else {
            batch?.resume(throwing: error)
        }
    }
}

/// Matches replies to requests in FIFO order (Redis answers a connection's commands in the order sent)
/// and enforces the command timeout on the oldest request.
///
/// It lives on the channel's event loop; ``RedisConnection`` feeds it already-encoded bytes together
/// with their requests, so one write and one flush serve every command submitted in the same tick.
final class RedisChannelHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// A write buffer that grew beyond this for a large command is dropped rather than kept.
    private static let sparePoolLimit = 64 * 1024

    private let reader = RESPReader()
    private var inFlight = CircularBuffer<PendingReplies>(initialCapacity: 64)
    private var context: ChannelHandlerContext?
    private var closedError: (any Error)?
    private var timeoutCheck: RepeatedTask?
    private let timeoutCheckInterval: TimeAmount
    /// Handed to the connection's outbox at each drain in exchange for what it gathered, so that
    /// neither the write buffer nor the request list is allocated afresh per write.
    private var spareBytes = ByteBuffer()
    private var spareRequests: [PendingReplies] = []

    init(commandTimeout: TimeAmount) {
        // Checking the oldest request a few times per timeout bounds the overshoot without a timer per command.
        self.timeoutCheckInterval = .nanoseconds(max(commandTimeout.nanoseconds / 4, 5_000_000))
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        spareBytes = context.channel.allocator.buffer(capacity: 1024)
        spareRequests.reserveCapacity(16)
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

    /// Writes and flushes what `collect` swaps in: encoded commands and their requests, in the same
    /// order. `collect` receives the handler's empty spares and leaves the gathered ones in their place.
    /// Must be called on the event loop.
    func write(collecting collect: (inout ByteBuffer, inout [PendingReplies]) -> Void) {
        collect(&spareBytes, &spareRequests)
        defer {
            spareRequests.removeAll(keepingCapacity: true)
            // NIO normally writes the bytes before `writeAndFlush` returns and lets go of them, so the
            // buffer is ours again; `clear()` allocates anew only while a short write keeps it queued.
            if spareBytes.capacity > Self.sparePoolLimit {
                spareBytes = ByteBuffer()
            }
            spareBytes.clear()
        }
        guard let context, closedError == nil else {
            let error = closedError ?? RedisClientError(.connectionClosed, "connection is closed")
            for request in spareRequests { request.fail(error) }
            return
        }
        inFlight.append(contentsOf: spareRequests)
        context.writeAndFlush(wrapOutboundOut(spareBytes), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        do {
            try reader.feed(bytes)
            // The oldest request stays in a local while its replies come in: a pipeline's sixteen
            // replies then cost one look at `inFlight`, not sixteen.
            var head: PendingReplies?
            while let value = try reader.next() {
                if head == nil { head = inFlight.first }
                guard let request = head else {
                    fail(RedisClientError(.protocolError, "reply without a request: \(value)"), context: context)
                    return
                }
                if request.take(value) {
                    inFlight.removeFirst()
                    head = nil
                }
            }
        } catch {
            fail(RedisClientError(.protocolError, "unreadable reply from Redis", underlying: error), context: context)
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
        while let request = inFlight.popFirst() {
            request.fail(error)
        }
    }
}
