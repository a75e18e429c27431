import Logging
import NIOCore
import NIOSSL
import RESP
import ServiceLifecycle
import Synchronization

/// A message received on a subscribed channel.
public struct RedisPubSubMessage: Sendable, Hashable {
    public var channel: String
    /// The pattern that matched, for `PSUBSCRIBE` subscriptions.
    public var pattern: String?
    public var payload: ByteBuffer

    public init(channel: String, pattern: String? = nil, payload: ByteBuffer) {
        self.channel = channel
        self.pattern = pattern
        self.payload = payload
    }
}

/// What a subscription yields.
public enum RedisSubscriptionEvent: Sendable, Hashable {
    case message(RedisPubSubMessage)
    /// Messages may have been missed just before this point: the connection was re-established
    /// (and every channel subscribed again) or this subscriber fell too far behind.
    /// Pub/sub has no history, so a consumer that must not miss anything re-reads its source now.
    case gap
}

/// Pub/sub over one dedicated connection per client (RESP2 cannot mix it with commands).
///
/// Subscriptions are scoped to a closure, so they always end; any number of them share the
/// connection, each channel subscribed once. When the connection drops, the subscriber reconnects
/// with backoff, subscribes to every channel and pattern again and tells each subscription `.gap`.
public final class RedisSubscriber: Service, Sendable {
    private struct Subscription {
        var channels: Set<String>
        var patterns: Set<String>
        var continuation: AsyncStream<RedisSubscriptionEvent>.Continuation
        var overflowed = false
    }

    private struct State {
        var subscriptions: [Int: Subscription] = [:]
        var nextID = 0
        var channel: (any Channel)?
        /// Channels/patterns Redis has confirmed on the current connection.
        var confirmed: Set<String> = []
        /// Channels/patterns unsubscribed whose confirmation has not arrived yet.
        var leaving: Set<String> = []
        /// An error reply to a (P)SUBSCRIBE (e.g. `NOPERM`) not yet handed to the subscription waiting for it.
        var refusal: RedisServerError?
        /// After a reconnect: what Redis has yet to confirm before the subscriptions are told `.gap`.
        /// Told only then, so a consumer's re-read cannot come before the notifications flow again.
        var gapPending: Set<String>?
        var isShutdown = false
    }

    private let target: NodeTarget
    private var endpoint: RedisConfiguration.Endpoint { target.endpoint }
    private let configuration: RedisConfiguration
    private let tlsContext: NIOSSLContext?
    private let logger: Logger
    private let bufferLimit: Int
    private let state = Mutex(State())

    /// - Parameter bufferLimit: messages buffered per subscription before it is told `.gap` instead.
    public convenience init(endpoint: RedisConfiguration.Endpoint, configuration: RedisConfiguration, tlsContext: NIOSSLContext?, logger: Logger, bufferLimit: Int = 10_000) {
        self.init(target: .fixed(endpoint), configuration: configuration, tlsContext: tlsContext, logger: logger, bufferLimit: bufferLimit)
    }

    init(target: NodeTarget, configuration: RedisConfiguration, tlsContext: NIOSSLContext?, logger: Logger, bufferLimit: Int = 10_000) {
        self.target = target
        self.configuration = configuration
        self.tlsContext = tlsContext
        self.logger = logger
        self.bufferLimit = bufferLimit
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await self.keepConnected() }
        let ended = state.withLock { state -> [Subscription] in
            state.isShutdown = true
            defer { state.subscriptions = [:] }
            return Array(state.subscriptions.values)
        }
        for subscription in ended { subscription.continuation.finish() }
    }

    /// Connects, subscribes to everything wanted, waits for the connection to drop, and again, with backoff.
    private func keepConnected() async {
        var backoff = Backoff()
        var connectedBefore = false
        while !Task.isCancelled {
            let attempt = target.generation
            do {
                let (connection, generation) = try await target.connect(configuration: configuration, tlsContext: tlsContext, logger: logger)
                try await enterSubscribeMode(connection.channel)
                if backoff.hasFailed { logger.info("redis pub/sub connection restored", metadata: ["redis.endpoint": "\(endpoint)"]) }
                backoff.reset()
                resubscribeAll(on: connection.channel, announceGap: connectedBefore)
                if connectedBefore { RedisMetrics.pubSubReconnects.increment() }
                if target.generation != generation { connection.close() }
                connectedBefore = true
                await withTaskCancellationHandler {
                    try? await connection.closeFuture.get()
                } onCancel: {
                    connection.close()
                }
                state.withLock { $0.channel = nil; $0.confirmed = []; $0.leaving = [] }
                // Closed because Sentinel named a new master (``moveToNewMaster()``): go there at once.
                if target.generation != generation { continue }
                if !Task.isCancelled {
                    logger.warning("redis pub/sub connection lost", metadata: ["redis.endpoint": "\(connection.endpoint)"])
                    target.connectionLost(generation: generation)
                }
            } catch {
                if !backoff.hasFailed {
                    logger.warning("redis pub/sub unreachable", metadata: ["redis.endpoint": "\(endpoint)", "error": "\(error)"])
                }
            }
            await target.pause(backoff.next(), unlessMovedSince: attempt)
        }
    }

    /// Sentinel named a new master: drops the connection to the old one; the reconnect goes to the
    /// new master, subscribes everything again and tells every subscription `.gap`.
    func moveToNewMaster() {
        state.withLock { $0.channel }?.close(promise: nil)
    }

    /// Swaps the request/reply handler for the push handler once AUTH/SELECT are done.
    private func enterSubscribeMode(_ channel: any Channel) async throws {
        let ping = TimeAmount.nanoseconds(max(configuration.commandTimeout.nanoseconds, 1_000_000_000))
        try await channel.eventLoop.flatSubmit {
            channel.pipeline.removeHandler(name: RedisConnection.handlerName)
        }.flatMap {
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(
                    PubSubHandler(pingInterval: ping, onPush: { [weak self] push in self?.dispatch(push) },
                                  onRefusal: { [weak self] error in self?.refused(error) }))
            }
        }.get()
    }

    private func resubscribeAll(on channel: any Channel, announceGap: Bool) {
        let (channels, patterns) = state.withLock { state in
            state.channel = channel
            state.confirmed = []
            let subs = state.subscriptions.values
            let channels = Set(subs.flatMap(\.channels)), patterns = Set(subs.flatMap(\.patterns))
            if announceGap {
                state.gapPending = Set(channels.map { "c:" + $0 } + patterns.map { "p:" + $0 })
                if state.gapPending?.isEmpty == true { Self.announceGap(&state) }
            }
            return (channels, patterns)
        }
        write(["SUBSCRIBE"], channels, on: channel)
        write(["PSUBSCRIBE"], patterns, on: channel)
    }

    /// Tells every subscription `.gap` (under the lock, so it is ordered with the messages).
    private static func announceGap(_ state: inout State) {
        state.gapPending = nil
        for subscription in state.subscriptions.values { subscription.continuation.yield(.gap) }
    }

    private func refused(_ error: RedisServerError) {
        state.withLock { state in
            state.refusal = error
            // A refused resubscription will not be confirmed: say `.gap` now rather than never.
            if state.gapPending != nil { Self.announceGap(&state) }
        }
    }

    private func write(_ command: [RESPArgument], _ names: Set<String>, on channel: any Channel) {
        guard !names.isEmpty else { return }
        var bytes = channel.allocator.buffer(capacity: 64)
        bytes.writeRESPCommand(command + names.sorted().map { .string($0) })
        channel.writeAndFlush(bytes, promise: nil)
    }

    /// Subscribes to `channels` and `patterns` for the duration of `body`, which reads the events.
    ///
    /// `body` starts once Redis has confirmed the subscriptions, so a message published after that
    /// is delivered; the call returns once Redis has confirmed the unsubscribe, so nothing is sent to
    /// this client for them afterwards. Fails with `unavailable` when Redis cannot be reached within
    /// the connect timeout.
    public func subscribe<T: Sendable>(
        channels: [String] = [],
        patterns: [String] = [],
        _ body: (AsyncStream<RedisSubscriptionEvent>) async throws -> T
    ) async throws -> T {
        let (stream, continuation) = AsyncStream.makeStream(of: RedisSubscriptionEvent.self, bufferingPolicy: .bufferingOldest(bufferLimit))
        let (id, newChannels, newPatterns, channel) = try state.withLock { state in
            if state.isShutdown { throw RedisClientError(.shutdown, "Redis client is shut down") }
            let existing = state.subscriptions.values
            let newChannels = Set(channels).subtracting(existing.flatMap(\.channels))
            let newPatterns = Set(patterns).subtracting(existing.flatMap(\.patterns))
            let id = state.nextID
            state.nextID += 1
            state.subscriptions[id] = Subscription(channels: Set(channels), patterns: Set(patterns), continuation: continuation)
            return (id, newChannels, newPatterns, state.channel)
        }
        if let channel {
            write(["SUBSCRIBE"], newChannels, on: channel)
            write(["PSUBSCRIBE"], newPatterns, on: channel)
        }
        let result: T
        do {
            try await awaitConfirmation(Set(channels.map { "c:" + $0 } + patterns.map { "p:" + $0 }))
            result = try await body(stream)
        } catch {
            await unsubscribe(id)
            throw error
        }
        await unsubscribe(id)
        return result
    }

    /// Waits until Redis has confirmed every subscription in `keys`; throws what Redis said when it
    /// refused one (a channel the ACL user may not use), rather than retrying a refusal forever.
    private func awaitConfirmation(_ keys: Set<String>) async throws {
        let confirmed = await poll { state in keys.isSubset(of: state.confirmed) || state.refusal != nil }
        if let refusal = state.withLock({ state in defer { state.refusal = nil }; return state.refusal }) {
            throw refusal
        }
        guard confirmed else {
            throw RedisClientError(.unavailable, "Redis at \(endpoint) did not confirm the subscription in time")
        }
    }

    /// Polls `done` until it holds or a connect plus a command timeout have passed. Confirmations
    /// arrive on the event loop; this runs once per subscribe and once per unsubscribe.
    private func poll(_ done: (State) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .nanoseconds(configuration.connectTimeout.nanoseconds + configuration.commandTimeout.nanoseconds)
        while !state.withLock({ done($0) }) {
            guard ContinuousClock.now < deadline, (try? await Task.sleep(for: .milliseconds(2))) != nil else { return false }
        }
        return true
    }

    /// Ends subscription `id`, unsubscribing from what no other subscription wants, and waits (bounded)
    /// until Redis confirms. Without a connection there is nothing to wait for: a reconnect only
    /// subscribes to what is still wanted.
    private func unsubscribe(_ id: Int) async {
        let (channel, goneChannels, gonePatterns, continuation) = state.withLock { state in
            guard let removed = state.subscriptions.removeValue(forKey: id) else {
                return ((any Channel)?.none, Set<String>(), Set<String>(), AsyncStream<RedisSubscriptionEvent>.Continuation?.none)
            }
            let remaining = state.subscriptions.values
            let goneChannels = removed.channels.subtracting(remaining.flatMap(\.channels))
            let gonePatterns = removed.patterns.subtracting(remaining.flatMap(\.patterns))
            for c in goneChannels { state.confirmed.remove("c:" + c) }
            for p in gonePatterns { state.confirmed.remove("p:" + p) }
            if state.channel != nil {
                state.leaving.formUnion(goneChannels.map { "c:" + $0 } + gonePatterns.map { "p:" + $0 })
            }
            return (state.channel, goneChannels, gonePatterns, removed.continuation)
        }
        continuation?.finish()
        guard let channel else { return }
        write(["UNSUBSCRIBE"], goneChannels, on: channel)
        write(["PUNSUBSCRIBE"], gonePatterns, on: channel)
        let leaving = Set(goneChannels.map { "c:" + $0 } + gonePatterns.map { "p:" + $0 })
        _ = await poll { state in state.leaving.isDisjoint(with: leaving) || state.channel == nil }
    }

    /// Called on the event loop for every push.
    private func dispatch(_ push: [RESPValue]) {
        guard let kind = push.first?.string else { return }
        switch kind {
        case "message" where push.count == 3:
            guard let channel = push[1].string, case .bulkString(let payload) = push[2] else { return }
            deliver(RedisPubSubMessage(channel: channel, pattern: nil, payload: payload)) { $0.channels.contains(channel) }
        case "pmessage" where push.count == 4:
            guard let pattern = push[1].string, let channel = push[2].string, case .bulkString(let payload) = push[3] else { return }
            deliver(RedisPubSubMessage(channel: channel, pattern: pattern, payload: payload)) { $0.patterns.contains(pattern) }
        case "subscribe", "psubscribe":
            guard push.count >= 2, let name = push[1].string else { return }
            let key = (kind == "subscribe" ? "c:" : "p:") + name
            state.withLock { state in
                // Ignore a late confirmation for something already unsubscribed again.
                let wanted = state.subscriptions.values.contains {
                    kind == "subscribe" ? $0.channels.contains(name) : $0.patterns.contains(name)
                }
                if wanted { state.confirmed.insert(key) }
                if state.gapPending?.remove(key) != nil, state.gapPending?.isEmpty == true { Self.announceGap(&state) }
            }
        case "unsubscribe", "punsubscribe":
            guard push.count >= 2, let name = push[1].string else { return }
            let key = (kind == "unsubscribe" ? "c:" : "p:") + name
            state.withLock { _ = $0.leaving.remove(key) }
        default:
            break
        }
    }

    private func deliver(_ message: RedisPubSubMessage, to matches: (Subscription) -> Bool) {
        state.withLock { state in
            for (id, subscription) in state.subscriptions where matches(subscription) {
                if subscription.overflowed {
                    if case .enqueued = subscription.continuation.yield(.gap) {
                        state.subscriptions[id]?.overflowed = false
                    } else {
                        continue
                    }
                }
                if case .dropped = subscription.continuation.yield(.message(message)) {
                    state.subscriptions[id]?.overflowed = true
                }
            }
        }
    }
}
