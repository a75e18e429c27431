import Logging
import NIOSSL

/// Where a node's connections go: a fixed address (a standalone server, a cluster node), or
/// whichever server Redis Sentinel names master now. A pool or subscriber asks it for every
/// (re)connect, so moving to a new master is closing the old connections.
enum NodeTarget: Sendable {
    case fixed(RedisConfiguration.Endpoint)
    case sentinel(SentinelMonitor)

    /// The address connections go to now (for a Sentinel service not yet resolved, a stand-in name).
    var endpoint: RedisConfiguration.Endpoint {
        switch self {
        case .fixed(let endpoint): endpoint
        case .sentinel(let monitor): monitor.endpoint
        }
    }

    /// Grows when the target moves; a connection made for an older generation is not used.
    var generation: Int {
        switch self {
        case .fixed: 0
        case .sentinel(let monitor): monitor.generation
        }
    }

    /// A set-up connection and the generation it belongs to.
    func connect(configuration: RedisConfiguration, tlsContext: NIOSSLContext?, logger: Logger) async throws -> (RedisConnection, Int) {
        switch self {
        case .fixed(let endpoint):
            (try await RedisConnection.connect(to: endpoint, configuration: configuration, tlsContext: tlsContext, logger: logger), 0)
        case .sentinel(let monitor):
            try await monitor.connectToMaster(configuration: configuration, tlsContext: tlsContext, logger: logger)
        }
    }

    /// A connection of `generation` broke: for a Sentinel service, ask the sentinels again.
    func connectionLost(generation: Int) {
        if case .sentinel(let monitor) = self {
            monitor.requestResolve("the connection to the master \(monitor.endpoint) of '\(monitor.serviceName)' was lost; asking the sentinels", generation: generation)
        }
    }

    /// Sleeps before a reconnect; cut short (or skipped) when a Sentinel service has named a new
    /// master since `generation`, the one the failed attempt was for.
    func pause(_ delay: Duration, unlessMovedSince generation: Int) async {
        switch self {
        case .fixed:
            try? await Task.sleep(for: delay)
        case .sentinel(let monitor):
            await monitor.pause(delay, unlessMovedSince: generation)
        }
    }
}
