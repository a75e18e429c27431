import Logging
import NIOSSL
import RESP
import ServiceLifecycle
import Synchronization

/// Knows which node serves which hash slot, and keeps a ``RedisNode`` per node it talks to.
///
/// It starts from the seed endpoints of the URL and asks them `CLUSTER SLOTS`. A server with
/// cluster support disabled makes it a standalone router: the first seed serves every slot and
/// nothing is asked again. Against Redis Cluster it re-reads the slot map every few seconds, and at
/// once when a command met `MOVED`, `CLUSTERDOWN` or an unreachable node (after a failover or while
/// slots are resharded), so nothing above the client needs to know which one it runs on.
public final class RedisRouter: Sendable {
    enum Mode: Equatable { case unknown, standalone, cluster }

    private struct State {
        var mode: Mode = .unknown
        var nodes: [RedisConfiguration.Endpoint: RedisNode] = [:]
        /// The master of each slot, once the map is known (cluster mode only); nil for an uncovered slot.
        var owners: [RedisNode?] = []
        var masters: [RedisNode] = []
        var nextKeyless = 0
        /// Set while ``run()`` runs: how new nodes get started. Before that they wait in `unstarted`.
        var starter: AsyncStream<RedisNode>.Continuation?
        var unstarted: [RedisNode] = []
        var refreshRequested = false
        var topologyVersion = 0
    }

    /// How often the slot map is re-read when nothing asks for it sooner.
    static let refreshInterval: Duration = .seconds(10)
    /// Refreshes asked for by failing commands come at most this often.
    static let minimumRefreshGap: Duration = .milliseconds(200)

    let configuration: RedisConfiguration
    private let tlsContext: NIOSSLContext?
    private let logger: Logger
    private let state = Mutex(State())
    /// The first seed: serves everything on a standalone server, and plain pub/sub in a cluster.
    /// With Redis Sentinel, the service's master, wherever the sentinels say it is now.
    public let seed: RedisNode
    /// Finds and follows the master of a Redis Sentinel service; nil without Sentinel.
    let sentinel: SentinelMonitor?

    init(configuration: RedisConfiguration, tlsContext: NIOSSLContext?, logger: Logger) throws {
        if let sentinelConfiguration = configuration.sentinel {
            let monitor = try SentinelMonitor(sentinel: sentinelConfiguration, configuration: configuration, tlsContext: tlsContext, logger: logger)
            self.configuration = configuration
            self.tlsContext = tlsContext
            self.logger = logger
            sentinel = monitor
            seed = RedisNode(target: .sentinel(monitor), configuration: configuration, tlsContext: tlsContext, logger: logger)
            state.withLock { state in
                state.unstarted = [seed]
                state.masters = [seed]
            }
            // Runs before any other handler: the client's script loading needs the pools moved first.
            monitor.onSwitch { [weak self] _ in self?.masterSwitched() }
            return
        }
        sentinel = nil
        guard let first = configuration.endpoints.first else {
            throw RedisClientError(.invalidURL, "no Redis endpoint configured")
        }
        self.configuration = configuration
        self.tlsContext = tlsContext
        self.logger = logger
        seed = RedisNode(endpoint: first, configuration: configuration, tlsContext: tlsContext, logger: logger)
        state.withLock { state in
            state.nodes[first] = seed
            state.unstarted = [seed]
            state.masters = [seed]
        }
        for endpoint in configuration.endpoints.dropFirst() { _ = node(at: endpoint) }
    }

    /// Whether the servers form a Redis Cluster; before the first answer, whether the URL named several seeds.
    public var isCluster: Bool {
        state.withLock { state in
            switch state.mode {
            case .cluster: true
            case .standalone: false
            case .unknown: configuration.endpoints.count > 1
            }
        }
    }

    /// The masters that serve slots now (the seed on a standalone server).
    public var masters: [RedisNode] { state.withLock { $0.masters } }

    /// Grows by one whenever the set of masters or the slot map changes, or Sentinel names another master.
    public var topologyVersion: Int { state.withLock { $0.topologyVersion } + (sentinel?.generation ?? 0) }

    /// Whether the master is found through Redis Sentinel.
    public var isSentinel: Bool { sentinel != nil }

    /// Sentinel named a new master (or the first one): commands and pub/sub move there.
    private func masterSwitched() {
        state.withLock { $0.mode = .standalone }
        seed.pool.moveToNewMaster()
        seed.subscriber.moveToNewMaster()
    }

    /// The node that serves `slot`; keyless commands (`nil`) go to the masters in turn.
    public func node(forSlot slot: Int?) throws -> RedisNode {
        try state.withLock { state in
            guard state.mode == .cluster else { return seed }
            guard let slot else {
                state.nextKeyless &+= 1
                return state.masters[state.nextKeyless % state.masters.count]
            }
            guard let owner = state.owners[slot] else {
                state.refreshRequested = true
                throw RedisClientError(.unavailable, "no Redis Cluster master serves hash slot \(slot) now")
            }
            return owner
        }
    }

    /// The node at `endpoint`, made (and started) when the client did not know it yet.
    func node(at endpoint: RedisConfiguration.Endpoint) -> RedisNode {
        let (node, isNew, starter) = state.withLock { state -> (RedisNode, Bool, AsyncStream<RedisNode>.Continuation?) in
            if let known = state.nodes[endpoint] { return (known, false, nil) }
            let node = RedisNode(endpoint: endpoint, configuration: configuration, tlsContext: tlsContext, logger: logger)
            state.nodes[endpoint] = node
            if state.starter == nil { state.unstarted.append(node) }
            return (node, true, state.starter)
        }
        if isNew { starter?.yield(node) }
        return node
    }

    /// A `MOVED` reply: the slot has a new owner for good. Used at once; the whole map is re-read soon.
    func learn(_ redirect: ClusterRedirect) {
        let owner = node(at: redirect.endpoint)
        state.withLock { state in
            state.refreshRequested = true
            guard state.mode == .cluster, state.owners.indices.contains(redirect.slot) else { return }
            state.owners[redirect.slot] = owner
        }
    }

    /// Asks for the slot map to be read again soon (a node failed, or said the cluster is down);
    /// with Sentinel, for the sentinels to be asked for the master again.
    func requestRefresh() {
        state.withLock { $0.refreshRequested = true }
        sentinel?.requestResolve()
    }

    /// Waits until the router knows whether it talks to a cluster, at most `timeout`.
    public func awaitTopology(timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while state.withLock({ $0.mode == .unknown }) {
            guard ContinuousClock.now < deadline else {
                if let sentinel {
                    throw RedisClientError(.unavailable, sentinel.status.problem ?? "no Redis Sentinel named the master of '\(sentinel.serviceName)' in time")
                }
                throw RedisClientError(.unavailable, "Redis at \(seed.endpoint) did not say whether it is a cluster in time")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Runs every node and keeps the slot map current until cancelled or shut down gracefully.
    func run() async {
        let (starts, starter) = AsyncStream.makeStream(of: RedisNode.self)
        let initial = state.withLock { state -> [RedisNode] in
            state.starter = starter
            defer { state.unstarted = [] }
            return state.unstarted
        }
        await withDiscardingTaskGroup { group in
            for node in initial { group.addTask { await node.run() } }
            group.addTask {
                await cancelWhenGracefulShutdown {
                    if let sentinel = self.sentinel {
                        await sentinel.run()
                    } else {
                        await self.keepSlotMapCurrent()
                    }
                }
                starter.finish()
            }
            for await node in starts { group.addTask { await node.run() } }
            group.cancelAll()
        }
        let nodes = state.withLock { state in
            state.starter = nil
            return Array(state.nodes.values)
        }
        for node in nodes { node.markRetired() }
    }

    private func keepSlotMapCurrent() async {
        var lastRefresh = ContinuousClock.now - Self.refreshInterval
        var failing = false
        while !Task.isCancelled {
            let mode = state.withLock { $0.mode }
            let due = lastRefresh + (failing ? .milliseconds(500) : Self.refreshInterval)
            let wanted = state.withLock { state in
                defer { state.refreshRequested = false }
                return state.refreshRequested
            }
            // A standalone server never changes its mind; a cluster is re-read now and then.
            if mode == .unknown || (mode == .cluster && (wanted || ContinuousClock.now >= due)) {
                lastRefresh = ContinuousClock.now
                let failure = await refresh()
                if failure == nil && failing { logger.info("redis cluster slot map read again") }
                if let failure, !failing, mode == .cluster {
                    logger.warning("cannot read the Redis Cluster slot map; retrying", metadata: ["error": "\(failure)"])
                }
                failing = failure != nil
            }
            try? await Task.sleep(for: Self.minimumRefreshGap)
        }
    }

    /// Reads `CLUSTER SLOTS` from the known masters and the seeds at once and takes the first answer,
    /// so a dead master (a connect timeout away on a real network) does not hold up a failover.
    /// Returns the last failure when none answered.
    private func refresh() async -> (any Error)? {
        let (candidates, mode) = state.withLock { state in
            (Array(Set(state.masters.map(\.endpoint) + configuration.endpoints)), state.mode)
        }
        let nodes = candidates.map(node(at:))
        let first = await withTaskGroup(of: Result<(ClusterSlots?, RedisServerError?), any Error>.self) { group in
            for node in nodes {
                group.addTask {
                    do {
                        let reply = try await node.pool.send(RedisCommand("CLUSTER", ["SLOTS"]))
                        return .success((try ClusterSlots(reply: reply, askedNode: node.endpoint), nil))
                    } catch let error as RedisServerError where mode == .unknown && self.configuration.endpoints.count == 1 {
                        return .success((nil, error))  // decides standalone, below
                    } catch {
                        return .failure(error)
                    }
                }
            }
            var lastError: (any Error)?
            for await result in group {
                switch result {
                case .success(let answer):
                    group.cancelAll()
                    return Result<(ClusterSlots?, RedisServerError?), any Error>.success(answer)
                case .failure(let error):
                    lastError = error
                }
            }
            return .failure(lastError ?? RedisClientError(.unavailable, "no Redis node to ask for the slot map"))
        }
        switch first {
        case .success((let map?, _)):
            apply(map)
            return nil
        case .success((_, let error?)) where mode == .unknown && configuration.endpoints.count == 1:
            // "cluster support disabled": a standalone server. Anything else (a user without
            // CLUSTER, a proxy) cannot be a cluster client's business either: one server it is.
            if !error.message.contains("cluster support disabled") {
                logger.warning("Redis refused CLUSTER SLOTS; treating it as one standalone server", metadata: ["error": "\(error)"])
            }
            state.withLock { state in
                state.mode = .standalone
                state.topologyVersion += 1
            }
            return nil
        case .success((_, let error)):
            return error ?? RedisClientError(.unexpectedReply, "CLUSTER SLOTS gave no answer")
        case .failure(let error):
            return error
        }
    }

    private func apply(_ map: ClusterSlots) {
        let masterNodes = map.masters.map(node(at:))
        let byEndpoint = Dictionary(uniqueKeysWithValues: masterNodes.map { ($0.endpoint, $0) })
        var owners = [RedisNode?](repeating: nil, count: HashSlot.count)
        for range in map.ranges {
            let owner = byEndpoint[range.master]
            for slot in range.slots { owners[slot] = owner }
        }
        let seeds = Set(configuration.endpoints)
        let retired = state.withLock { state -> [RedisNode] in
            let changed = state.mode != .cluster || state.masters.map(\.endpoint) != masterNodes.map(\.endpoint)
                || zip(state.owners, owners).contains { $0?.endpoint != $1?.endpoint }
            state.mode = .cluster
            state.owners = owners
            state.masters = masterNodes.isEmpty ? [seed] : masterNodes
            if changed { state.topologyVersion += 1 }
            // Replicas, failed masters and nodes that left: no command goes there any more.
            let gone = state.nodes.values.filter { byEndpoint[$0.endpoint] == nil && !seeds.contains($0.endpoint) }
            for node in gone { state.nodes[node.endpoint] = nil }
            return gone
        }
        for node in retired { node.markRetired() }
        // As many connections in all as against one server (see setActiveConnections).
        let share = max(1, configuration.poolSize / max(1, masterNodes.count))
        for node in masterNodes { node.pool.setActiveConnections(share) }
        if map.uncoveredSlotCount > 0 {
            logger.warning("redis cluster leaves hash slots unserved", metadata: ["slots": "\(map.uncoveredSlotCount)"])
        }
    }
}
