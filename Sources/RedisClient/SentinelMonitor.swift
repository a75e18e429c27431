import Logging
import NIOCore
import NIOSSL
import RESP
import Synchronization

/// Finds the master of one Redis Sentinel service and follows it, as the Sentinel client guidelines
/// describe (https://redis.io/docs/latest/develop/reference/sentinel-clients/):
///
/// 1. ask the sentinels in turn `SENTINEL get-master-addr-by-name <service>`; the one whose answer
///    is used moves to the front of the list;
/// 2. connect to the address named and check with `ROLE` that it is a master before using it (a
///    sentinel that has not yet heard of a failover names the old master; then the next one is asked);
/// 3. listen to `+switch-master` on every sentinel's pub/sub, and ask again when it comes, when a
///    connection to the master is lost or refused, when the master answers `READONLY` or `LOADING`
///    (``requestResolve(_:)``), and every ``checkInterval`` in any case.
///
/// Every connection to the master (``connectToMaster(configuration:tlsContext:logger:)``) checks
/// `ROLE` too. A new master raises ``generation``; the handlers registered with ``onSwitch(_:)`` then
/// move the pools and the pub/sub connection there.
final class SentinelMonitor: Sendable {
    private struct State {
        var sentinels: [RedisConfiguration.Endpoint]
        var master: RedisConfiguration.Endpoint?
        var generation = 0
        var problem: String?
        var resolveRequested = true
        /// The new master a `+switch-master` message named: tried first at the next resolve.
        var hint: RedisConfiguration.Endpoint?
        var warnedUnverifiable = false
        var warnedSentinelsAway = false
        var handlers: [@Sendable (RedisConfiguration.Endpoint) async -> Void] = []
    }

    enum Role: Equatable {
        case master
        case other(String)
        /// `ROLE` refused (`NOPERM`): the user may not ask; the sentinels' word is taken.
        case unverifiable
    }

    /// How often the sentinels are asked while all is well (`+switch-master` usually comes first).
    static let checkInterval: Duration = .seconds(10)
    /// How soon to ask again while no usable master is known.
    static let retryInterval: Duration = .milliseconds(100)
    static let switchChannel = "+switch-master"

    let serviceName: String
    private let configuration: RedisConfiguration
    private let tlsContext: NIOSSLContext?
    private let sentinelConfiguration: RedisConfiguration
    private let sentinelTLSContext: NIOSSLContext?
    private let logger: Logger
    private let state: Mutex<State>

    init(sentinel: RedisConfiguration.Sentinel, configuration: RedisConfiguration, tlsContext: NIOSSLContext?, logger: Logger) throws {
        guard !sentinel.endpoints.isEmpty else {
            throw RedisClientError(.invalidURL, "no Redis Sentinel configured for '\(sentinel.serviceName)'")
        }
        serviceName = sentinel.serviceName
        self.configuration = configuration
        self.tlsContext = tlsContext
        sentinelConfiguration = configuration.sentinelConnectionConfiguration(sentinel)
        sentinelTLSContext = try sentinelConfiguration.tls.map(RedisClient.makeTLSContext)
        self.logger = logger
        state = Mutex(State(sentinels: sentinel.endpoints, problem: "no Redis Sentinel has named the master of '\(sentinel.serviceName)' yet"))
    }

    var status: SentinelStatus {
        state.withLock { SentinelStatus(serviceName: serviceName, master: $0.master, problem: $0.problem, switches: $0.generation) }
    }

    /// Grows by one whenever the client moves to another master.
    var generation: Int { state.withLock { $0.generation } }

    /// The master in use, or a stand-in name for messages until one is known.
    var endpoint: RedisConfiguration.Endpoint {
        state.withLock { $0.master } ?? RedisConfiguration.Endpoint(host: "master-of-\(serviceName)", port: 0)
    }

    /// The sentinels in the order they are asked.
    var sentinels: [RedisConfiguration.Endpoint] { state.withLock { $0.sentinels } }

    /// Runs `handler` (in order of registration) each time the master changes, the first discovery included.
    func onSwitch(_ handler: @escaping @Sendable (RedisConfiguration.Endpoint) async -> Void) {
        state.withLock { $0.handlers.append(handler) }
    }

    /// Asks the sentinels again soon. `problem`, when given, is what went wrong with the master of
    /// `generation`; it is what ``status`` says until a sentinel names a master that answers.
    func requestResolve(_ problem: String? = nil, generation: Int? = nil) {
        state.withLock { state in
            state.resolveRequested = true
            if let problem, generation == nil || generation == state.generation, state.master != nil {
                state.problem = problem
            }
        }
    }

    /// The master now, and its generation; waits up to `timeout` while none is known yet.
    func currentMaster(waitingUpTo timeout: Duration) async throws -> (RedisConfiguration.Endpoint, Int) {
        let deadline = ContinuousClock.now + timeout
        while true {
            let known = state.withLock { state in state.master.map { ($0, state.generation, state.problem) } }
            if let known { return (known.0, known.1) }
            guard ContinuousClock.now < deadline else {
                throw RedisClientError(.unavailable, status.problem ?? "no Redis Sentinel has named the master of '\(serviceName)' yet")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Sleeps for `delay`, or less when the master is no longer that of generation `start` (a
    /// reconnect goes to the new one at once).
    func pause(_ delay: Duration, unlessMovedSince start: Int) async {
        let deadline = ContinuousClock.now + delay
        while ContinuousClock.now < deadline, generation == start, !Task.isCancelled {
            try? await Task.sleep(for: min(.milliseconds(10), deadline - ContinuousClock.now))
        }
    }

    /// A connection to the master named now, set up and confirmed with `ROLE`. Failures are
    /// reported (the sentinels are asked again) and thrown as `unavailable`, except refused
    /// credentials and TLS, which are the operator's to fix.
    func connectToMaster(configuration: RedisConfiguration, tlsContext: NIOSSLContext?, logger: Logger) async throws -> (RedisConnection, Int) {
        let (endpoint, generation) = try await currentMaster(waitingUpTo: .nanoseconds(configuration.connectTimeout.nanoseconds))
        let connection: RedisConnection
        do {
            connection = try await RedisConnection.connect(to: endpoint, configuration: configuration, tlsContext: tlsContext, logger: logger)
        } catch let error as RedisClientError where error.code == .authenticationFailed || error.code == .tlsFailure {
            requestResolve("the master \(endpoint) of '\(serviceName)' refused the connection: \(error.message)", generation: generation)
            throw error
        } catch {
            requestResolve("the master \(endpoint) of '\(serviceName)' cannot be reached; asking the sentinels for a new one", generation: generation)
            throw RedisClientError(.unavailable, "cannot connect to the Redis master \(endpoint) of '\(serviceName)'", underlying: error)
        }
        let role: Role
        do {
            role = try await Self.role(of: connection)
        } catch {
            connection.close()
            requestResolve("the master \(endpoint) of '\(serviceName)' did not answer ROLE; asking the sentinels", generation: generation)
            throw RedisClientError(.unavailable, "the Redis master \(endpoint) of '\(serviceName)' did not answer ROLE", underlying: error)
        }
        switch role {
        case .master:
            break
        case .unverifiable:
            warnUnverifiable(endpoint)
        case .other(let role):
            connection.close()
            requestResolve("\(endpoint), named master of '\(serviceName)', says it is a \(role); asking the sentinels again", generation: generation)
            throw RedisClientError(.unavailable, "\(endpoint), named master of '\(serviceName)', says it is a \(role)")
        }
        guard self.generation == generation else {
            connection.close()
            throw RedisClientError(.unavailable, "the master of '\(serviceName)' changed while connecting to \(endpoint); connecting again")
        }
        return (connection, generation)
    }

    static func role(of connection: RedisConnection) async throws -> Role {
        do {
            let reply = try await connection.send(RedisCommand("ROLE"))
            let role = reply.array?.first?.string ?? "unknown"
            return role == "master" ? .master : .other(role)
        } catch let error as RedisServerError where error.prefix == "NOPERM" {
            return .unverifiable
        }
    }

    private func warnUnverifiable(_ endpoint: RedisConfiguration.Endpoint) {
        let first = state.withLock { state in
            defer { state.warnedUnverifiable = true }
            return !state.warnedUnverifiable
        }
        if first {
            logger.warning("taskd's Redis user may not run ROLE, so the master named by Redis Sentinel is used unchecked; allow +role", metadata: ["redis.endpoint": "\(endpoint)"])
        }
    }

    // MARK: - Following the master

    /// Listens to every sentinel's `+switch-master` and keeps the master current until cancelled.
    func run() async {
        await withDiscardingTaskGroup { group in
            for sentinel in sentinels {
                group.addTask { await self.listen(to: sentinel) }
            }
            await keepMasterCurrent()
            group.cancelAll()
        }
    }

    private func keepMasterCurrent() async {
        var lastCheck = ContinuousClock.now - Self.checkInterval
        while !Task.isCancelled {
            let (requested, usable) = state.withLock { state in
                defer { state.resolveRequested = false }
                return (state.resolveRequested || state.hint != nil, state.master != nil && state.problem == nil)
            }
            if requested || ContinuousClock.now >= lastCheck + (usable ? Self.checkInterval : Self.retryInterval) {
                lastCheck = ContinuousClock.now
                await resolve()
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// One round: the hint of a `+switch-master`, then each sentinel's answer, until an address
    /// answers `ROLE` as master.
    func resolve() async {
        let (sentinels, hint, current) = state.withLock { state in
            defer { state.hint = nil }
            return (state.sentinels, state.hint, state.master)
        }
        var failures: [String] = []
        var tried: Set<RedisConfiguration.Endpoint> = []
        var anySentinelAnswered = false
        if let hint {
            tried.insert(hint)
            switch await verify(hint) {
            case .success: return await adopt(hint, via: nil)
            case .failure(let failure): failures.append("\(hint), named by +switch-master, \(failure)")
            }
        }
        for sentinel in sentinels {
            let named: RedisConfiguration.Endpoint?
            do {
                named = try await ask(sentinel)
            } catch {
                failures.append("sentinel \(sentinel) did not answer (\(Self.brief(error)))")
                continue
            }
            anySentinelAnswered = true
            guard let named else {
                failures.append("sentinel \(sentinel) does not know '\(serviceName)'")
                continue
            }
            guard tried.insert(named).inserted else { continue }
            switch await verify(named) {
            case .success: return await adopt(named, via: sentinel)
            case .failure(let failure): failures.append("\(named), named by sentinel \(sentinel), \(failure)")
            }
        }
        // No sentinel answered, but the master in use still says it is one: keep it.
        if !anySentinelAnswered, let current, !tried.contains(current), case .success = await verify(current) {
            let first = state.withLock { state in
                defer { state.warnedSentinelsAway = true }
                state.problem = nil
                return !state.warnedSentinelsAway
            }
            if first {
                logger.warning("no Redis Sentinel answers; staying with the master in use", metadata: [
                    "redis.sentinel.service": "\(serviceName)", "redis.endpoint": "\(current)", "error": "\(failures.joined(separator: "; "))",
                ])
            }
            return
        }
        let sentence = "No usable master for '\(serviceName)': " + failures.joined(separator: "; ") + "."
        state.withLock { $0.problem = sentence }
    }

    private func adopt(_ master: RedisConfiguration.Endpoint, via sentinel: RedisConfiguration.Endpoint?) async {
        let (previous, changed, handlers) = state.withLock { state in
            if let sentinel, let index = state.sentinels.firstIndex(of: sentinel), index > 0 {
                state.sentinels.remove(at: index)
                state.sentinels.insert(sentinel, at: 0)
            }
            state.problem = nil
            state.warnedSentinelsAway = false
            let previous = state.master
            guard previous != master else { return (previous, false, state.handlers) }
            state.master = master
            state.generation += 1
            return (previous, true, state.handlers)
        }
        guard changed else { return }
        logger.info("redis sentinel: master in use", metadata: [
            "redis.sentinel.service": "\(serviceName)", "redis.endpoint": "\(master)", "redis.previous": "\(previous.map { "\($0)" } ?? "none")",
        ])
        for handler in handlers { await handler(master) }
    }

    /// `SENTINEL get-master-addr-by-name`, on a short-lived connection; nil when the sentinel does
    /// not know the service.
    private func ask(_ sentinel: RedisConfiguration.Endpoint) async throws -> RedisConfiguration.Endpoint? {
        let connection = try await RedisConnection.connect(
            to: sentinel, configuration: sentinelConfiguration, tlsContext: sentinelTLSContext, logger: logger)
        defer { connection.close() }
        let reply = try await connection.send(RedisCommand("SENTINEL", ["get-master-addr-by-name", .string(serviceName)]))
        guard let pair = reply.array else { return nil }
        guard pair.count == 2, let host = pair[0].string, let port = pair[1].string.flatMap({ Int($0) }) ?? pair[1].int else {
            throw RedisClientError(.unexpectedReply, "sentinel \(sentinel) answered get-master-addr-by-name with an unexpected reply")
        }
        return .init(host: host, port: port)
    }

    /// Whether `endpoint` answers `ROLE` as a master; otherwise why not, as the end of a sentence.
    private func verify(_ endpoint: RedisConfiguration.Endpoint) async -> Result<Void, VerifyFailure> {
        do {
            let connection = try await RedisConnection.connect(to: endpoint, configuration: configuration, tlsContext: tlsContext, logger: logger)
            defer { connection.close() }
            switch try await Self.role(of: connection) {
            case .master: return .success(())
            case .unverifiable:
                warnUnverifiable(endpoint)
                return .success(())
            case .other(let role): return .failure(VerifyFailure(text: "says it is a \(role)"))
            }
        } catch {
            return .failure(VerifyFailure(text: "cannot be reached (\(Self.brief(error)))"))
        }
    }

    private struct VerifyFailure: Error {
        var text: String
    }

    /// An error's message without its underlying chain (short enough for one sentence).
    private static func brief(_ error: any Error) -> String {
        if let error = error as? RedisClientError { return error.message }
        return "\(error)"
    }

    /// Follows one sentinel's `+switch-master` messages until cancelled.
    private func listen(to sentinel: RedisConfiguration.Endpoint) async {
        let subscriber = RedisSubscriber(endpoint: sentinel, configuration: sentinelConfiguration, tlsContext: sentinelTLSContext, logger: logger)
        await withDiscardingTaskGroup { group in
            group.addTask { try? await subscriber.run() }
            while !Task.isCancelled {
                do {
                    try await subscriber.subscribe(channels: [Self.switchChannel]) { events in
                        for await event in events {
                            switch event {
                            case .message(let message):
                                switchAnnounced(String(buffer: message.payload))
                            case .gap:
                                // A switch may have been announced while the connection was down.
                                requestResolve()
                            }
                        }
                    }
                } catch {
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            group.cancelAll()
        }
    }

    /// `<service> <old-ip> <old-port> <new-ip> <new-port>`.
    func switchAnnounced(_ payload: String) {
        let words = payload.split(separator: " ")
        guard words.count == 5, words[0] == serviceName, let port = Int(words[4]) else { return }
        let endpoint = RedisConfiguration.Endpoint(host: String(words[3]), port: port)
        state.withLock { state in
            state.hint = endpoint
            state.resolveRequested = true
        }
    }
}
