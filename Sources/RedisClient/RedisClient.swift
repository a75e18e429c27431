import Logging
import NIOCore
import NIOSSL
import RESP
import ServiceLifecycle

/// The Redis client: pooled, pipelined connections routed by hash slot, pub/sub, and scripts.
///
/// It is a `Service`: run it (in a `ServiceGroup`, or with ``withRunning(_:)``) before sending.
/// While Redis is away, calls fail fast with `RedisClientError.unavailable`, and the client
/// reconnects by itself when Redis returns.
public final class RedisClient: RedisCommandExecutor, Service, Sendable {
    public let configuration: RedisConfiguration
    public let router: any RedisRouter
    public let subscriber: RedisSubscriber
    private let logger: Logger

    public convenience init(url: String, logger: Logger = Logger(label: "redis")) throws {
        try self.init(configuration: RedisConfiguration(url: url), logger: logger)
    }

    public init(configuration: RedisConfiguration, logger: Logger = Logger(label: "redis")) throws {
        guard let endpoint = configuration.endpoints.first else {
            throw RedisClientError(.invalidURL, "no Redis endpoint configured")
        }
        guard configuration.endpoints.count == 1 else {
            throw RedisClientError(.invalidURL, "several seed nodes name a Redis Cluster, which this client cannot route to yet; give one redis:// URL")
        }
        let tlsContext = try configuration.tls.map(Self.makeTLSContext)
        self.configuration = configuration
        self.logger = logger
        self.router = StandaloneRouter(
            pool: RedisConnectionPool(endpoint: endpoint, configuration: configuration, tlsContext: tlsContext, logger: logger))
        self.subscriber = RedisSubscriber(endpoint: endpoint, configuration: configuration, tlsContext: tlsContext, logger: logger)
    }

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
        try await withThrowingDiscardingTaskGroup { group in
            for pool in router.pools {
                group.addTask { try await pool.run() }
            }
            group.addTask { try await self.subscriber.run() }
        }
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
        try await router.pool(forSlot: command.hashSlot()).send(command)
    }

    public func pipeline(_ commands: [RedisCommand]) async throws -> [RESPValue] {
        let pools = try commands.map { try router.pool(forSlot: $0.hashSlot()) }
        guard let first = pools.first else { return [] }
        if pools.allSatisfy({ $0 === first }) {
            return try await first.pipeline(commands)
        }
        // Commands for different nodes: one pipeline per node, run concurrently, replies put back in order.
        var groups: [ObjectIdentifier: (pool: RedisConnectionPool, indices: [Int])] = [:]
        for (index, pool) in pools.enumerated() {
            groups[ObjectIdentifier(pool), default: (pool, [])].indices.append(index)
        }
        return try await withThrowingTaskGroup(of: ([Int], [RESPValue]).self) { group in
            for (pool, indices) in groups.values {
                group.addTask { (indices, try await pool.pipeline(indices.map { commands[$0] })) }
            }
            var replies = [RESPValue](repeating: .null, count: commands.count)
            for try await (indices, values) in group {
                for (index, value) in zip(indices, values) { replies[index] = value }
            }
            return replies
        }
    }

    /// A connection for blocking commands on the node that owns `slot`, held for the duration of `body`.
    public func withDedicatedConnection<T: Sendable>(forSlot slot: Int?, _ body: (RedisConnection) async throws -> T) async throws -> T {
        try await router.pool(forSlot: slot).withDedicatedConnection(body)
    }

    /// Subscribes for the duration of `body`; see ``RedisSubscriber/subscribe(channels:patterns:_:)``.
    public func subscribe<T: Sendable>(
        channels: [String] = [],
        patterns: [String] = [],
        _ body: (AsyncStream<RedisSubscriptionEvent>) async throws -> T
    ) async throws -> T {
        try await subscriber.subscribe(channels: channels, patterns: patterns, body)
    }
}
