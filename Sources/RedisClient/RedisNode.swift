import Logging
import NIOSSL
import Synchronization

/// One Redis server the client talks to: its command pool and its pub/sub connection.
///
/// A node runs (``run()``) from when the router first learns of it until it is retired — it left the
/// cluster, or stopped being a master and is no seed — or the client shuts down. With Redis Sentinel
/// the one node is the service's master, wherever the sentinels say it is now.
public final class RedisNode: Sendable {
    public var endpoint: RedisConfiguration.Endpoint { pool.endpoint }
    public let pool: RedisConnectionPool
    public let subscriber: RedisSubscriber
    private let retirement: AsyncStream<Void>
    private let retire: AsyncStream<Void>.Continuation
    private let retired = Mutex(false)

    convenience init(endpoint: RedisConfiguration.Endpoint, configuration: RedisConfiguration, tlsContext: NIOSSLContext?, logger: Logger) {
        self.init(target: .fixed(endpoint), configuration: configuration, tlsContext: tlsContext, logger: logger)
    }

    init(target: NodeTarget, configuration: RedisConfiguration, tlsContext: NIOSSLContext?, logger: Logger) {
        pool = RedisConnectionPool(target: target, configuration: configuration, tlsContext: tlsContext, logger: logger)
        subscriber = RedisSubscriber(target: target, configuration: configuration, tlsContext: tlsContext, logger: logger)
        (retirement, retire) = AsyncStream.makeStream(of: Void.self)
    }

    /// Whether the router has let go of this node; its pool then answers `shutdown`.
    public var isRetired: Bool { retired.withLock { $0 } }

    /// Keeps the node's connections until it is retired or the task is cancelled.
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await self.pool.run() }
            group.addTask { try? await self.subscriber.run() }
            group.addTask { for await _ in self.retirement {} }
            // Whichever ends first (retirement; or the pool and subscriber on shutdown) ends them all.
            _ = await group.next()
            group.cancelAll()
        }
    }

    func markRetired() {
        retired.withLock { $0 = true }
        retire.finish()
    }
}
