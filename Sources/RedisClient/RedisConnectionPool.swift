import Logging
import NIOCore
import NIOSSL
import RESP
import ServiceLifecycle
import Synchronization

/// A fixed set of multiplexed connections to one Redis node, plus a bounded set of dedicated ones.
///
/// Commands are spread round-robin over the shared connections and pipelined on them, so a handful of
/// connections carries any number of concurrent callers. Blocking commands (`BLPOP`, `XREAD BLOCK`)
/// must not stall a shared connection: they go through ``withDedicatedConnection(_:)``.
///
/// The pool is a `Service`: ``run()`` opens the connections and keeps them open, reconnecting with
/// backoff. While Redis is away, commands fail at once with `unavailable` (after waiting at most one
/// connect timeout for a reconnect already under way) and recover by themselves when it returns.
public final class RedisConnectionPool: RedisCommandExecutor, Service, Sendable {
    private enum Slot {
        case idle
        case connecting
        /// Ready, made for the target's `generation` (a Sentinel master); one of an older one is not used.
        case ready(RedisConnection, generation: Int)
        case down(RedisClientError)
        case shutdown
    }

    private struct State {
        var slots: [Slot]
        var next = 0
        /// How many of the slots carry commands while they are ready (see ``setActiveConnections(_:)``).
        var active: Int
        var idleDedicated: [(connection: RedisConnection, generation: Int)] = []
        var leasedDedicated = 0
        var isShutdown = false
    }

    /// Where the connections go: the node's address, or the master a Sentinel service names now.
    public var endpoint: RedisConfiguration.Endpoint { target.endpoint }
    let target: NodeTarget
    private let configuration: RedisConfiguration
    private let tlsContext: NIOSSLContext?
    private let logger: Logger
    private let state: Mutex<State>

    public convenience init(endpoint: RedisConfiguration.Endpoint, configuration: RedisConfiguration, tlsContext: NIOSSLContext?, logger: Logger) {
        self.init(target: .fixed(endpoint), configuration: configuration, tlsContext: tlsContext, logger: logger)
    }

    init(target: NodeTarget, configuration: RedisConfiguration, tlsContext: NIOSSLContext?, logger: Logger) {
        self.target = target
        self.configuration = configuration
        self.tlsContext = tlsContext
        self.logger = logger
        self.state = Mutex(State(slots: Array(repeating: .idle, count: max(1, configuration.poolSize)), active: max(1, configuration.poolSize)))
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for index in 0..<self.state.withLock({ $0.slots.count }) {
                    group.addTask { await self.maintain(slot: index) }
                }
            }
        }
        let dedicated = state.withLock { state -> [RedisConnection] in
            state.isShutdown = true
            for i in state.slots.indices { state.slots[i] = .shutdown }
            defer { state.idleDedicated = [] }
            return state.idleDedicated.map(\.connection)
        }
        for connection in dedicated { connection.close() }
    }

    /// Keeps one slot connected until the pool is cancelled.
    private func maintain(slot index: Int) async {
        var backoff = Backoff()
        var connectedBefore = false
        while !Task.isCancelled {
            state.withLock { $0.slots[index] = .connecting }
            let attempt = target.generation
            do {
                let (connection, generation) = try await target.connect(configuration: configuration, tlsContext: tlsContext, logger: logger)
                state.withLock { $0.slots[index] = .ready(connection, generation: generation) }
                // A new master named meanwhile, after ``moveToNewMaster()`` swept the slots: not this one.
                if target.generation != generation { connection.close() }
                if backoff.hasFailed { logger.info("redis connection restored", metadata: ["redis.endpoint": "\(connection.endpoint)"]) }
                if connectedBefore { RedisMetrics.commandReconnects.increment() }
                connectedBefore = true
                backoff.reset()
                await withTaskCancellationHandler {
                    try? await connection.closeFuture.get()
                } onCancel: {
                    connection.close()
                }
                guard !Task.isCancelled else { break }
                // Closed because Sentinel named a new master (``moveToNewMaster()``): go there at once.
                if target.generation != generation { continue }
                logger.warning("redis connection lost", metadata: ["redis.endpoint": "\(connection.endpoint)"])
                target.connectionLost(generation: generation)
                state.withLock { $0.slots[index] = .down(RedisClientError(.unavailable, "connection to Redis at \(endpoint) was lost; reconnecting")) }
            } catch {
                let failure = error as? RedisClientError ?? RedisClientError(.unavailable, "cannot connect to Redis at \(endpoint)", underlying: error)
                state.withLock { $0.slots[index] = .down(failure) }
                if !backoff.hasFailed {
                    logger.warning("redis unreachable", metadata: ["redis.endpoint": "\(endpoint)", "error": "\(failure)"])
                }
            }
            await target.pause(backoff.next(), unlessMovedSince: attempt)
        }
        state.withLock { $0.slots[index] = .shutdown }
    }

    public func send(_ command: RedisCommand) async throws -> RESPValue {
        try await connection().send(command)
    }

    public func pipeline(_ commands: [RedisCommand]) async throws -> [RESPValue] {
        try await connection().pipeline(commands)
    }

    /// Lets only the first `count` shared connections carry commands (the others stay open, as
    /// spares). A client spread over several cluster masters keeps its total the same as against one
    /// server: Redis's cost per command falls with the number of commands that arrive in one read,
    /// and three pools of four would cut that batch to a third (measured: 588 vs 506 µs of Redis
    /// CPU per lifecycle on a 3-master cluster, `./dev bench cluster`).
    public func setActiveConnections(_ count: Int) {
        state.withLock { $0.active = max(1, min(count, $0.slots.count)) }
    }

    /// A ready shared connection, round-robin. While a connect is under way (and no other connection is
    /// ready) it waits for it, at most as long as a connect and its setup may take.
    public func connection() async throws -> RedisConnection {
        let deadline = ContinuousClock.now + .nanoseconds(configuration.connectTimeout.nanoseconds + configuration.commandTimeout.nanoseconds)
        while true {
            let generation = target.generation
            let pick = state.withLock { state -> Result<RedisConnection, RedisClientError>? in
                if state.isShutdown { return .failure(RedisClientError(.shutdown, "Redis client is shut down")) }
                // The active connections first; a spare only while none of them is ready.
                for offset in 0..<state.active {
                    let i = (state.next + offset) % state.active
                    if case .ready(let connection, generation) = state.slots[i], connection.isActive {
                        state.next = (i + 1) % state.active
                        return .success(connection)
                    }
                }
                let count = state.slots.count
                var lastError: RedisClientError?
                for offset in 0..<count {
                    let i = (state.next + offset) % count
                    switch state.slots[i] {
                    case .ready(let connection, generation) where connection.isActive:
                        state.next = (i + 1) % count
                        return .success(connection)
                    case .down(let error):
                        lastError = error
                    case .idle, .connecting, .ready, .shutdown:
                        break
                    }
                }
                let anyConnecting = state.slots.contains { if case .connecting = $0 { true } else if case .idle = $0 { true } else { false } }
                if let lastError, !anyConnecting { return .failure(lastError) }
                return nil
            }
            switch pick {
            case .success(let connection): return connection
            case .failure(let error): throw error
            case nil:
                guard ContinuousClock.now < deadline else {
                    throw RedisClientError(.unavailable, "no connection to Redis at \(endpoint) became ready in time")
                }
                try await Task.sleep(for: .milliseconds(5))
            }
        }
    }

    /// Runs `body` with a connection no one else uses meanwhile, for blocking commands.
    /// At most `maxDedicatedConnections` are lent at once; past that the call fails rather than queue.
    public func withDedicatedConnection<T: Sendable>(_ body: (RedisConnection) async throws -> T) async throws -> T {
        let reused = try state.withLock { state -> (connection: RedisConnection, generation: Int)? in
            if state.isShutdown { throw RedisClientError(.shutdown, "Redis client is shut down") }
            guard state.leasedDedicated < configuration.maxDedicatedConnections else {
                throw RedisClientError(.unavailable, "all \(configuration.maxDedicatedConnections) dedicated Redis connections are in use")
            }
            state.leasedDedicated += 1
            let generation = target.generation
            while let candidate = state.idleDedicated.popLast() {
                if candidate.connection.isActive && candidate.generation == generation { return candidate }
                candidate.connection.close()
            }
            return nil
        }
        let connection: RedisConnection
        let generation: Int
        do {
            if let reused {
                (connection, generation) = reused
            } else {
                (connection, generation) = try await target.connect(configuration: configuration, tlsContext: tlsContext, logger: logger)
            }
        } catch {
            state.withLock { $0.leasedDedicated -= 1 }
            throw error
        }
        defer {
            let keep = state.withLock { state -> Bool in
                state.leasedDedicated -= 1
                guard !state.isShutdown, connection.isActive, state.idleDedicated.count < 8 else { return false }
                state.idleDedicated.append((connection, generation))
                return true
            }
            if !keep { connection.close() }
        }
        return try await body(connection)
    }

    /// Sentinel named a new master: closes every connection to the old one (each slot reconnects at
    /// once, to the new one) and makes callers wait for those reconnects rather than fail.
    func moveToNewMaster() {
        let stale = state.withLock { state -> [RedisConnection] in
            var stale: [RedisConnection] = []
            for i in state.slots.indices {
                switch state.slots[i] {
                case .ready(let connection, _): stale.append(connection)
                case .down: state.slots[i] = .connecting
                case .idle, .connecting, .shutdown: break
                }
            }
            stale += state.idleDedicated.map(\.connection)
            state.idleDedicated = []
            return stale
        }
        for connection in stale { connection.close() }
    }
}
