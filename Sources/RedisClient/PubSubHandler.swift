import NIOCore
import RESP

/// The channel handler of a connection in subscribe mode: every reply is a push
/// (`message`, `pmessage`, `subscribe` confirmations, `pong`), handed to the subscriber as it comes.
///
/// It also pings the server while idle, so a connection that died silently is noticed within
/// two ping intervals and re-established, instead of leaving the subscriber deaf.
final class PubSubHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let reader = RESPReader()
    private let onPush: @Sendable ([RESPValue]) -> Void
    private let onRefusal: @Sendable (RedisServerError) -> Void
    private let pingInterval: TimeAmount
    private var pingTask: RepeatedTask?
    private var pongOutstanding = false

    /// - Parameter onRefusal: an error reply, e.g. `NOPERM` for a channel the ACL user may not use.
    init(pingInterval: TimeAmount, onPush: @escaping @Sendable ([RESPValue]) -> Void, onRefusal: @escaping @Sendable (RedisServerError) -> Void) {
        self.pingInterval = pingInterval
        self.onPush = onPush
        self.onRefusal = onRefusal
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        pingTask = context.eventLoop.scheduleRepeatedTask(initialDelay: pingInterval, delay: pingInterval) { _ in
            let (handler, context) = bound.value
            handler.ping(context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        pingTask?.cancel()
    }

    private func ping(context: ChannelHandlerContext) {
        if pongOutstanding {
            context.close(promise: nil)
            return
        }
        pongOutstanding = true
        var bytes = context.channel.allocator.buffer(capacity: 16)
        bytes.writeRESPCommand(["PING"])
        context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        do {
            try reader.feed(unwrapInboundIn(data))
            while let value = try reader.next() {
                // With no channel subscribed (yet, or any more), Redis answers PING with a plain +PONG.
                if case .simpleString("PONG") = value {
                    pongOutstanding = false
                    continue
                }
                if case .error(let message) = value {
                    // A refused (P)SUBSCRIBE: the connection stays good; the subscription fails.
                    onRefusal(RedisServerError(message: message))
                    continue
                }
                guard case .array(let push) = value, !push.isEmpty else {
                    // Anything else in subscribe mode means we are out of step.
                    context.close(promise: nil)
                    return
                }
                if push.first?.string?.lowercased() == "pong" {
                    pongOutstanding = false
                } else {
                    onPush(push)
                }
            }
        } catch {
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
