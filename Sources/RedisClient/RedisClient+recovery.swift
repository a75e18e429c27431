import RESP

/// What to do after a command failed in a way that says it never ran: try where, after how long.
extension RedisClient {
    /// Retries a command that Redis (or the client) refused without running it: redirected
    /// (`MOVED`, `ASK`), asked to wait (`TRYAGAIN` while a slot migrates, `CLUSTERDOWN` while a
    /// failover runs), a script the node did not know (`NOSCRIPT`), or, in a cluster, a master that
    /// cannot be reached until the slot map names its replacement. With Redis Sentinel, a master that
    /// cannot be reached, or answers `READONLY` (demoted) or `LOADING`, until the sentinels name one
    /// that answers. Anything else is the caller's. A command whose connection broke while it was in
    /// flight (`connectionClosed`) may have run, so it is never repeated.
    func recover(_ command: RedisCommand, slot: Int?, node: RedisNode, error: any Error) async throws -> RESPValue {
        let deadline = ContinuousClock.now + configuration.clusterRetryTimeout
        var command = command
        var node = node
        var error = error
        var asking = false
        // A Sentinel failover is waited out by time (the deadline), not by a count of tries.
        for attempt in 1...(router.isSentinel ? 1024 : 32) {
            var delay: Duration = .zero
            switch error {
            case let serverError as RedisServerError:
                if let redirect = ClusterRedirect(serverError, from: node.endpoint) {
                    if redirect.kind == .moved { router.learn(redirect) }
                    node = router.node(at: redirect.endpoint)
                    asking = redirect.kind == .ask
                } else if serverError.prefix == "NOSCRIPT", let eval = evalWithSource(of: command) {
                    // Sent again as EVAL with the script's source: it runs whether or not the script
                    // cache is flushed again meanwhile (a SCRIPT LOAD then EVALSHA could meet a second
                    // flush in between), and Redis caches it, so later EVALSHAs find it.
                    command = eval
                } else if isMasterChangeSign(serverError) {
                    // A demoted master or one still loading: the command did not run; ask the sentinels.
                    router.requestRefresh()
                    delay = .milliseconds(min(25 * attempt, 100))
                } else if serverError.prefix == "TRYAGAIN" || serverError.prefix == "CLUSTERDOWN" {
                    if serverError.prefix == "CLUSTERDOWN" { router.requestRefresh() }
                    delay = .milliseconds(min(20 * attempt, 200))
                    asking = false
                    node = try router.node(forSlot: slot)
                } else {
                    throw error
                }
            case let clientError as RedisClientError
            where router.isCluster && (clientError.code == .unavailable || (clientError.code == .shutdown && node.isRetired)):
                router.requestRefresh()
                delay = .milliseconds(min(50 * attempt, 250))
                asking = false
            case let clientError as RedisClientError
            where router.isSentinel && (clientError.code == .unavailable || clientError.code == .connectTimeout):
                // Never sent: the master is away or being replaced. Wait for the one the sentinels name.
                router.requestRefresh()
                delay = .milliseconds(min(25 * attempt, 100))
            default:
                throw error
            }
            guard ContinuousClock.now + delay < deadline else { throw error }
            if delay > .zero {
                try await Task.sleep(for: delay)
                if case .some = error as? RedisClientError {
                    do { node = try router.node(forSlot: slot) } catch let next { error = next; continue }
                }
            }
            do {
                if asking {
                    // ASKING holds for the next command on the same connection only: send both together.
                    let replies = try await node.pool.connection().pipeline([RedisCommand("ASKING"), command])
                    return try replies[1].throwingServerError()
                }
                return try await node.pool.send(command)
            } catch let next {
                error = next
            }
        }
        throw error
    }

    /// The `EVAL` that runs the same script as an `EVALSHA`, when this client knows the script's source.
    private func evalWithSource(of command: RedisCommand) -> RedisCommand? {
        guard command.name == "EVALSHA", command.arguments.count > 1, case .string(let sha) = command.arguments[1],
              let source = scriptSources.withLock({ $0[sha] })
        else { return nil }
        return RedisCommand("EVAL", [.string(source)] + command.arguments.dropFirst(2), keys: command.keys)
    }

    public func pipeline(_ commands: [RedisCommand]) async throws -> [RESPValue] {
        guard !commands.isEmpty else { return [] }
        var replies: [RESPValue]
        if router.isCluster {
            replies = try await pipelinePerNode(commands)
        } else if router.isSentinel {
            replies = try await pipelineOnMaster(commands)
        } else {
            replies = try await router.seed.pool.pipeline(commands)
        }
        // Replies that say "not here" or "not now" are sent again one by one, with recovery.
        for index in replies.indices {
            guard case .error(let message) = replies[index] else { continue }
            let error = RedisServerError(message: message)
            guard Self.isRetryable(error) || isMasterChangeSign(error) else { continue }
            do {
                replies[index] = try await send(commands[index])
            } catch let error as RedisServerError {
                replies[index] = .error(error.message)
            }
        }
        return replies
    }

    /// A pipeline on a Sentinel service's master: while no connection to it can be had (nothing was
    /// sent), waits for the master the sentinels name, within ``RedisConfiguration/clusterRetryTimeout``.
    private func pipelineOnMaster(_ commands: [RedisCommand]) async throws -> [RESPValue] {
        let deadline = ContinuousClock.now + configuration.clusterRetryTimeout
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await router.seed.pool.pipeline(commands)
            } catch let error as RedisClientError where error.code == .unavailable || error.code == .connectTimeout {
                router.requestRefresh()
                let delay = Duration.milliseconds(min(25 * attempt, 100))
                guard ContinuousClock.now + delay < deadline else { throw surfaced(error) }
                try await Task.sleep(for: delay)
            } catch {
                throw surfaced(error)
            }
        }
    }

    /// `READONLY` (the server was demoted to a replica) or `LOADING` (it is still loading its data):
    /// with Sentinel, a sign that the master is changing; the command did not run.
    func isMasterChangeSign(_ error: RedisServerError) -> Bool {
        router.isSentinel && (error.prefix == "READONLY" || error.prefix == "LOADING")
    }

    /// What a failure looks like to callers. With Sentinel, every failure caused by the master going
    /// away or changing is `unavailable` (answered 503): a call whose connection broke in flight
    /// (it may have run; the message says so), a timeout, a `READONLY`/`LOADING` past the retry
    /// budget. Other clients' errors are passed on as they are.
    func surfaced(_ error: any Error) -> any Error {
        guard let monitor = router.sentinel else { return error }
        let master = "the Redis master \(monitor.endpoint) of '\(monitor.serviceName)'"
        switch error {
        case let error as RedisClientError where error.code == .connectionClosed:
            return RedisClientError(.unavailable, "the connection to \(master) broke with the command in flight (it may have run); the sentinels are asked for the master", underlying: error)
        case let error as RedisClientError where error.code == .commandTimeout || error.code == .connectTimeout:
            return RedisClientError(.unavailable, "\(master) did not answer in time; the sentinels are asked for the master", underlying: error)
        case let error as RedisServerError where isMasterChangeSign(error):
            return RedisClientError(.unavailable, "\(master) is not a usable master now (\(error.prefix)); no new one was found in time", underlying: error)
        default:
            return error
        }
    }

    static func isRetryable(_ error: RedisServerError) -> Bool {
        switch error.prefix {
        case "MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN": true
        default: false
        }
    }

    /// One pipeline per node, run concurrently, replies put back in order. A node that cannot be
    /// reached (or a slot without a master) sends its commands one by one through ``send(_:)``.
    private func pipelinePerNode(_ commands: [RedisCommand]) async throws -> [RESPValue] {
        var groups: [ObjectIdentifier: (node: RedisNode?, indices: [Int])] = [:]
        var unrouted: [Int] = []
        for (index, command) in commands.enumerated() {
            let slot = try command.hashSlot()
            if let node = try? router.node(forSlot: slot) {
                groups[ObjectIdentifier(node), default: (node, [])].indices.append(index)
            } else {
                unrouted.append(index)
            }
        }
        if !unrouted.isEmpty { groups[ObjectIdentifier(RedisClient.self)] = (nil, unrouted) }
        return try await withThrowingTaskGroup(of: ([Int], [RESPValue]).self) { group in
            for (node, indices) in groups.values {
                group.addTask {
                    let batch = indices.map { commands[$0] }
                    if let node {
                        do {
                            return (indices, try await node.pool.pipeline(batch))
                        } catch let error as RedisClientError where error.code == .unavailable || error.code == .shutdown {
                            // Never sent: fall through to one-by-one sending with recovery.
                        }
                    }
                    var values: [RESPValue] = []
                    for command in batch {
                        do {
                            values.append(try await self.send(command))
                        } catch let error as RedisServerError {
                            values.append(.error(error.message))
                        }
                    }
                    return (indices, values)
                }
            }
            var replies = [RESPValue](repeating: .null, count: commands.count)
            for try await (indices, values) in group {
                for (index, value) in zip(indices, values) { replies[index] = value }
            }
            return replies
        }
    }
}

extension RedisClient {
    /// Runs `script`, then `WAIT`s until `replicas` replicas have its writes or `timeout` passes, and
    /// returns the script's reply with how many replicas acknowledged. Both go in one pipeline on one
    /// connection — `WAIT` covers exactly the writes sent before it there — so the cost is the
    /// replication delay, not a second round trip. Redis replication stays asynchronous: a write that
    /// fewer replicas acknowledged has still happened on the master, and is not undone.
    public func evalScript(
        _ script: RedisScript, keys: [String], arguments: [RESPArgument], replicas: Int, timeout: Duration
    ) async throws -> (reply: RESPValue, acknowledged: Int) {
        remember([script])
        let call = RedisCommand.evalsha(script.sha1, keys: keys, arguments: arguments)
        // The keys route WAIT to the script's node; Redis itself sees a keyless WAIT.
        let wait = RedisCommand("WAIT", [.integer(replicas), .integer(Int(timeout.components.seconds * 1000) + Int(timeout.components.attoseconds / 1_000_000_000_000_000))], keys: keys)
        let slot = try call.hashSlot()
        let node = try router.node(forSlot: slot)
        let replies: [RESPValue]
        do {
            replies = try await node.pool.connection().pipeline([call, wait])
        } catch {
            do {
                let reply = try await recover(call, slot: slot, node: node, error: error)
                return (reply, try await send(wait).int ?? 0)
            } catch {
                throw surfaced(error)
            }
        }
        if case .error(let message) = replies[0] {
            // Not run there (a redirect, NOSCRIPT) or failed: recovery re-sends or throws. The WAIT
            // after a re-send goes over another connection, so it only proves the replicas are
            // connected and caught up with that connection — the best this rare path can say.
            do {
                let reply = try await recover(call, slot: slot, node: node, error: RedisServerError(message: message))
                return (reply, try await send(wait).int ?? 0)
            } catch {
                throw surfaced(error)
            }
        }
        return (replies[0], replies[1].int ?? 0)
    }
}
