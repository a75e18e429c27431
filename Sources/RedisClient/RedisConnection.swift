import Logging
import NIOCore
import NIOPosix
import NIOSSL
import RESP
import Synchronization

/// One connection to one Redis server, with any number of commands in flight (pipelining).
///
/// Callers on any thread encode their command into a shared outbound buffer under a lock; the first
/// of them in an event-loop tick schedules one drain that writes and flushes everything gathered so far.
/// That turns many concurrent callers into one syscall, and a pipeline into one resumption.
public final class RedisConnection: RedisCommandExecutor, Sendable {
    private struct Outbox {
        var bytes: ByteBuffer
        var pending: [PendingReplies]
        var drainScheduled = false
        var closedError: RedisClientError?
    }

    static let handlerName = "redis.requests"

    public let endpoint: RedisConfiguration.Endpoint
    let channel: any Channel
    private let handler: NIOLoopBound<RedisChannelHandler>
    private let outbox: Mutex<Outbox>
    private let commandTimeout: TimeAmount

    private init(channel: any Channel, handler: NIOLoopBound<RedisChannelHandler>, endpoint: RedisConfiguration.Endpoint, commandTimeout: TimeAmount) {
        self.channel = channel
        self.handler = handler
        self.endpoint = endpoint
        self.commandTimeout = commandTimeout
        self.outbox = Mutex(Outbox(bytes: channel.allocator.buffer(capacity: 256), pending: []))
        // The callback holds the connection until the channel closes, which is as long as it is useful.
        channel.closeFuture.whenComplete { _ in self.failOutbox() }
    }

    /// Fails whatever was submitted but not yet handed to the channel when it closed.
    private func failOutbox() {
        let error = RedisClientError(.connectionClosed, "connection to \(endpoint) closed")
        let orphans = outbox.withLock { box -> [PendingReplies] in
            box.closedError = error
            defer { box.pending = [] }
            return box.pending
        }
        for request in orphans { request.fail(error) }
    }

    /// Opens a connection and sets it up (`AUTH`, `SELECT`, `CLIENT SETNAME`) before returning it.
    public static func connect(
        to endpoint: RedisConfiguration.Endpoint,
        configuration: RedisConfiguration,
        tlsContext: NIOSSLContext? = nil,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "redis")
    ) async throws -> RedisConnection {
        let timeout = configuration.commandTimeout
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: eventLoopGroup)
                .connectTimeout(configuration.connectTimeout)
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .channelOption(.socketOption(.so_keepalive), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tlsContext {
                            // SNI carries names only; for an IP address NIOSSL checks the certificate against the peer's IP.
                            let isIP = (try? SocketAddress(ipAddress: endpoint.host, port: 0)) != nil
                            let tls = try NIOSSLClientHandler(context: tlsContext, serverHostname: isIP ? nil : endpoint.host)
                            try channel.pipeline.syncOperations.addHandler(tls)
                        }
                        try channel.pipeline.syncOperations.addHandler(RedisChannelHandler(commandTimeout: timeout), name: handlerName)
                    }
                }
                .connect(host: endpoint.host, port: endpoint.port).get()
        } catch let error as ChannelError {
            if case .connectTimeout = error {
                throw RedisClientError(.connectTimeout, "no connection to Redis at \(endpoint) within \(configuration.connectTimeout)")
            }
            throw RedisClientError(.unavailable, "cannot connect to Redis at \(endpoint)", underlying: error)
        } catch {
            throw RedisClientError(.unavailable, "cannot connect to Redis at \(endpoint)", underlying: error)
        }
        let handler: NIOLoopBound<RedisChannelHandler>
        do {
            handler = try await channel.eventLoop.submit {
                NIOLoopBound(try channel.pipeline.syncOperations.handler(type: RedisChannelHandler.self), eventLoop: channel.eventLoop)
            }.get()
        } catch {
            // The handlers are gone: the channel closed right after connecting, as a failed TLS handshake does.
            channel.close(promise: nil)
            if tlsContext != nil {
                throw RedisClientError(.tlsFailure, "TLS handshake with Redis at \(endpoint) failed: the connection closed during it", underlying: error)
            }
            throw RedisClientError(.connectionClosed, "Redis at \(endpoint) closed the connection while it was being set up", underlying: error)
        }
        let connection = RedisConnection(channel: channel, handler: handler, endpoint: endpoint, commandTimeout: timeout)
        do {
            try await connection.handshake(configuration)
        } catch let error as RedisClientError where tlsContext != nil && error.code == .connectionClosed {
            connection.close()
            throw RedisClientError(.tlsFailure, "TLS handshake with Redis at \(endpoint) failed", underlying: error.underlying ?? error)
        } catch {
            connection.close()
            throw error
        }
        logger.debug("redis connection open", metadata: ["redis.endpoint": "\(endpoint)"])
        return connection
    }

    private func handshake(_ configuration: RedisConfiguration) async throws {
        var setup: [RedisCommand] = []
        if let password = configuration.password {
            var arguments: [RESPArgument] = []
            if let username = configuration.username { arguments.append(.string(username)) }
            arguments.append(.string(password))
            setup.append(RedisCommand("AUTH", arguments))
        }
        if configuration.database != 0 {
            setup.append(RedisCommand("SELECT", [.integer(configuration.database)]))
        }
        if let name = configuration.clientName {
            setup.append(RedisCommand("CLIENT", ["SETNAME", .string(name)]))
        }
        // Always one round trip: a connection is handed out only once Redis (and TLS) has answered.
        setup.append(.ping())
        let replies = try await pipeline(setup)
        for (command, reply) in zip(setup, replies) {
            if case .error(let message) = reply {
                // Never echo the arguments: AUTH carries the password.
                throw RedisClientError(
                    .authenticationFailed, "Redis refused \(command.name) while connecting to \(endpoint)",
                    underlying: RedisServerError(message: message))
            }
        }
    }

    public var isActive: Bool { channel.isActive }

    /// Completes when the connection has closed, for whatever reason.
    public var closeFuture: EventLoopFuture<Void> { channel.closeFuture }

    public func close() {
        channel.close(promise: nil)
    }

    public func send(_ command: RedisCommand) async throws -> RESPValue {
        try await send(command, timeout: nil).throwingServerError()
    }

    /// Sends one command; `timeout` replaces the configured command timeout (for blocking commands
    /// such as `XREAD BLOCK`, pass their block time plus a margin). Error replies are returned as values.
    public func send(_ command: RedisCommand, timeout: TimeAmount?) async throws -> RESPValue {
        let deadline = NIODeadline.now() + (timeout ?? commandTimeout)
        do {
            let reply = try await withUnsafeThrowingContinuation { continuation in
                enqueue(PendingReplies(deadline: deadline, single: continuation)) { bytes in
                    bytes.writeRESPCommand(command.arguments)
                }
            }
            RedisMetrics.count(reply)
            return reply
        } catch {
            RedisMetrics.failed.increment()
            throw error
        }
    }

    public func pipeline(_ commands: [RedisCommand]) async throws -> [RESPValue] {
        guard !commands.isEmpty else { return [] }
        let deadline = NIODeadline.now() + commandTimeout
        do {
            let replies = try await withUnsafeThrowingContinuation { continuation in
                enqueue(PendingReplies(deadline: deadline, count: commands.count, batch: continuation)) { bytes in
                    for command in commands { bytes.writeRESPCommand(command.arguments) }
                }
            }
            RedisMetrics.count(replies)
            return replies
        } catch {
            RedisMetrics.failed.increment(by: commands.count)
            throw error
        }
    }

    private func enqueue(_ request: PendingReplies, encode: (inout ByteBuffer) -> Void) {
        let outcome = outbox.withLock { box -> (schedule: Bool, error: RedisClientError?) in
            if let error = box.closedError { return (false, error) }
            encode(&box.bytes)
            box.pending.append(request)
            if box.drainScheduled { return (false, nil) }
            box.drainScheduled = true
            return (true, nil)
        }
        if let error = outcome.error {
            request.fail(error)
        } else if outcome.schedule {
            channel.eventLoop.execute { self.drain() }
        }
    }

    /// Runs on the event loop: hands everything gathered since the last drain to the handler at once,
    /// in exchange for the handler's empty buffer and list.
    private func drain() {
        handler.value.write { bytes, requests in
            outbox.withLock { box in
                swap(&bytes, &box.bytes)
                swap(&requests, &box.pending)
                box.drainScheduled = false
            }
        }
    }
}
