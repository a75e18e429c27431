import Synchronization

extension RedisClient {
    /// Subscribes to `patterns` on every master for the duration of `body`: keyspace notifications
    /// are published by the node where the write happened, to its own subscribers only.
    ///
    /// On a standalone server this is ``subscribe(channels:patterns:_:)``. In a cluster it follows the
    /// topology: a master that joins (a promoted replica, a node added by resharding) is subscribed to
    /// and announced with `.gap`, since writes there may have gone unheard; a master that left is
    /// let go. `body` starts once every master of the moment has confirmed or failed its first try;
    /// those that failed keep trying and announce `.gap` when they succeed.
    public func subscribeOnEveryMaster<T: Sendable>(
        patterns: [String],
        _ body: (AsyncStream<RedisSubscriptionEvent>) async throws -> T
    ) async throws -> T {
        guard try await isCluster() else {
            return try await subscribe(patterns: patterns, body)
        }
        let (merged, sink) = AsyncStream.makeStream(of: RedisSubscriptionEvent.self, bufferingPolicy: .bufferingOldest(10_000))
        let firstTries = EndpointSet(router.masters.map(\.endpoint))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await self.followMasters(patterns: patterns, into: sink, firstTries: firstTries) }
            defer {
                group.cancelAll()
                sink.finish()
            }
            let deadline = ContinuousClock.now + retryBudget
            while !firstTries.isEmpty, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(2))
            }
            return try await body(merged)
        }
    }

    /// Keeps one relay per master running until cancelled; checks for new masters every 100 ms
    /// (a local read of the router's map, not a Redis call).
    private func followMasters(patterns: [String], into sink: AsyncStream<RedisSubscriptionEvent>.Continuation, firstTries: EndpointSet) async {
        let relayed = EndpointSet([])
        await withDiscardingTaskGroup { group in
            var initial = true
            while !Task.isCancelled {
                for node in router.masters where relayed.insert(node.endpoint) {
                    let announce = !initial
                    group.addTask {
                        await self.relay(node, patterns: patterns, into: sink, announceGap: announce, firstTries: firstTries)
                        relayed.remove(node.endpoint)
                    }
                }
                initial = false
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// Forwards one master's notifications until it is retired or stops being a master.
    private func relay(
        _ node: RedisNode, patterns: [String], into sink: AsyncStream<RedisSubscriptionEvent>.Continuation,
        announceGap: Bool, firstTries: EndpointSet
    ) async {
        var announce = announceGap
        while !Task.isCancelled, !node.isRetired, router.masters.contains(where: { $0 === node }) {
            do {
                try await node.subscriber.subscribe(patterns: patterns) { events in
                    firstTries.remove(node.endpoint)
                    if announce { sink.yield(.gap) }
                    for await event in events { sink.yield(event) }
                }
            } catch {
                firstTries.remove(node.endpoint)
                announce = true
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
    }
}

/// A set of endpoints shared by tasks: the masters whose first try is under way, those relayed.
private final class EndpointSet: Sendable {
    private let endpoints: Mutex<Set<RedisConfiguration.Endpoint>>
    init(_ endpoints: [RedisConfiguration.Endpoint]) { self.endpoints = Mutex(Set(endpoints)) }
    /// Adds `endpoint`; false when it was there already.
    func insert(_ endpoint: RedisConfiguration.Endpoint) -> Bool { endpoints.withLock { $0.insert(endpoint).inserted } }
    func remove(_ endpoint: RedisConfiguration.Endpoint) { endpoints.withLock { _ = $0.remove(endpoint) } }
    var isEmpty: Bool { endpoints.withLock { $0.isEmpty } }
}
