import Logging
import NIOCore
import NIOSSL
import RESP
import ServiceLifecycle
import Synchronization

/// The Redis client: pooled, pipelined connections routed by hash slot, pub/sub, and scripts, for a
/// standalone server or a Redis Cluster alike (``RedisRouter`` finds out which from the first answer).
///
/// It is a `Service`: run it (in a `ServiceGroup`, or with ``withRunning(_:)``) before sending.
/// While Redis is away, calls fail fast with `RedisClientError.unavailable`, and the client
/// reconnects by itself when Redis returns. In a cluster, `MOVED`, `ASK`, `TRYAGAIN`, `CLUSTERDOWN`
/// and an unreachable master are retried (within ``RedisConfiguration/clusterRetryTimeout``) while
/// the client learns the new slot map, so a failover or a resharding does not reach callers.
/// With Redis Sentinel (`redis+sentinel://`) it asks the sentinels for the master, follows it through
/// failovers (``sentinelStatus`` says where it is), and calls made meanwhile wait for the new master
/// within the same ``RedisConfiguration/clusterRetryTimeout`` or fail with `unavailable`.
public final class RedisClient: RedisCommandExecutor, Service, Sendable {
    public let configuration: RedisConfiguration
    public let router: RedisRouter
    let logger: Logger
    /// Sources of the scripts run so far by SHA1: a call a node answers `NOSCRIPT` (a new master after
    /// a failover, a restart, a `SCRIPT FLUSH`, the target of an `ASK`) is sent again as `EVAL` with it.
    let scriptSources = Mutex<[String: String]>([:])

    public convenience init(url: String, logger: Logger = Logger(label: "redis")) throws {
        try self.init(configuration: RedisConfiguration(url: url), logger: logger)
    }

    public init(configuration: RedisConfiguration, logger: Logger = Logger(label: "redis")) throws {
        let tlsContext = try configuration.tls.map(Self.makeTLSContext)
        self.configuration = configuration
        self.logger = logger
        self.router = try RedisRouter(configuration: configuration, tlsContext: tlsContext, logger: logger)
        router.sentinel?.onSwitch { [weak self] master in await self?.loadScriptsOnNewMaster(master) }
    }

    /// The Redis Sentinel service's master in use and whether it can be used now; nil without Sentinel.
    public var sentinelStatus: SentinelStatus? { router.sentinel?.status }

    /// Sentinel named a new master: the scripts run so far are loaded there before they are needed
    /// (a call answered `NOSCRIPT` would be sent again as `EVAL` anyway).
    private func loadScriptsOnNewMaster(_ master: RedisConfiguration.Endpoint) async {
        let sources = scriptSources.withLock { Array($0.values) }
        guard !sources.isEmpty else { return }
        do {
            let replies = try await router.seed.pool.pipeline(sources.map { RedisCommand("SCRIPT", ["LOAD", .string($0)]) })
            if let refusal = replies.first(where: { if case .error = $0 { true } else { false } }) {
                logger.warning("the new Redis master refused a script; it is loaded again on first use", metadata: ["redis.endpoint": "\(master)", "error": "\(refusal)"])
            }
        } catch {
            logger.debug("scripts not loaded on the new Redis master yet; they are on first use", metadata: ["redis.endpoint": "\(master)", "error": "\(error)"])
        }
    }

    /// Pub/sub for plain channels (published cluster-wide); see ``subscribeOnEveryMaster(patterns:_:)``
    /// for keyspace notifications, which each cluster node publishes only to its own subscribers.
    public var subscriber: RedisSubscriber { router.seed.subscriber }

    static func makeTLSContext(_ tls: RedisConfiguration.TLS) throws -> NIOSSLContext {
        var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
        if let caFile = tls.caFile {
            tlsConfiguration.trustRoots = .file(caFile)
        }
        if !tls.verifyPeer {
            tlsConfiguration.certificateVerification = .none
        }
        do {
            return try NIOSSLContext(configuration: tlsConfiguration)
        } catch {
            throw RedisClientError(.tlsFailure, "cannot set up TLS for Redis (CA file: \(tls.caFile ?? "system roots"))", underlying: error)
        }
    }

    public func run() async throws {
        await router.run()
    }

    /// Runs the client for the duration of `body`, then shuts it down.
    public func withRunning<T: Sendable>(_ body: (RedisClient) async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.run() }
            defer { group.cancelAll() }
            return try await body(self)
        }
    }

    public func send(_ command: RedisCommand) async throws -> RESPValue {
        let slot = try command.hashSlot()
        let node = try router.node(forSlot: slot)
        do {
            return try await node.pool.send(command)
        } catch {
            do {
                return try await recover(command, slot: slot, node: node, error: error)
            } catch {
                throw surfaced(error)
            }
        }
    }

    /// Runs `script` with `EVALSHA`; where Redis does not know it (`NOSCRIPT`), as `EVAL` with its source.
    public func evalScript(_ script: RedisScript, keys: [String], arguments: [RESPArgument]) async throws -> RESPValue {
        remember([script])
        return try await send(.evalsha(script.sha1, keys: keys, arguments: arguments))
    }

    /// Loads scripts into every master ahead of their first call, so no `EVALSHA` pays for a `NOSCRIPT`.
    public func loadScripts(_ scripts: [RedisScript]) async throws {
        remember(scripts)
        for node in try await masters() {
            let replies = try await node.pool.pipeline(scripts.map { RedisCommand("SCRIPT", ["LOAD", .string($0.source)]) })
            for (script, reply) in zip(scripts, replies) {
                if case .error(let message) = reply {
                    throw RedisClientError(.unexpectedReply, "Redis at \(node.endpoint) refused script \(script.name)", underlying: RedisServerError(message: message))
                }
            }
        }
    }

    func remember(_ scripts: [RedisScript]) {
        scriptSources.withLock { sources in
            for script in scripts where sources[script.sha1] == nil { sources[script.sha1] = script.source }
        }
    }

    /// The masters that serve slots now: every node of a cluster that holds data, or the one server.
    /// Waits (at most a connect plus a command timeout) until the client knows which it is.
    public func masters() async throws -> [RedisNode] {
        try await router.awaitTopology(timeout: retryBudget)
        return router.masters
    }

    /// Whether the client talks to a Redis Cluster; waits until it knows, like ``masters()``.
    public func isCluster() async throws -> Bool {
        try await router.awaitTopology(timeout: retryBudget)
        return router.isCluster
    }

    var retryBudget: Duration {
        .nanoseconds(configuration.connectTimeout.nanoseconds + configuration.commandTimeout.nanoseconds)
    }

    /// A connection for blocking commands on the node that owns `slot`, held for the duration of `body`.
    /// A `MOVED` met inside teaches the router the slot's new owner; the caller retries.
    public func withDedicatedConnection<T: Sendable>(forSlot slot: Int?, _ body: (RedisConnection) async throws -> T) async throws -> T {
        let node = try router.node(forSlot: slot)
        do {
            return try await node.pool.withDedicatedConnection(body)
        } catch let error as RedisServerError {
            if let redirect = ClusterRedirect(error, from: node.endpoint), redirect.kind == .moved { router.learn(redirect) }
            if isMasterChangeSign(error) { router.requestRefresh() }
            throw surfaced(error)
        } catch let error as RedisClientError where error.code == .unavailable || error.code == .connectionClosed {
            router.requestRefresh()
            throw surfaced(error)
        } catch {
            throw surfaced(error)
        }
    }

    /// Subscribes for the duration of `body`; see ``RedisSubscriber/subscribe(channels:patterns:_:)``.
    /// Plain channels reach every subscriber of a cluster, so one node's subscription is enough.
    public func subscribe<T: Sendable>(
        channels: [String] = [],
        patterns: [String] = [],
        _ body: (AsyncStream<RedisSubscriptionEvent>) async throws -> T
    ) async throws -> T {
        try await subscriber.subscribe(channels: channels, patterns: patterns, body)
    }
}
