import NIOCore
import RESP
import RedisClient
import TestSupport
import Testing

@Suite(.tags(.processes)) struct RedisReconnectTests {
    /// Redis stops: calls fail fast with `unavailable`; Redis starts again on the same port: the
    /// client recovers by itself, without a restart.
    @Test func recoversWhenRedisReturns() async throws {
        let first = try await RedisServerProcess.started()
        let port = first.port
        try await withClient(url: first.url) { redis in
            #expect(try await redis.send(.ping()) == .simpleString("PONG"))
            await first.stop()

            let started = ContinuousClock.now
            var sawUnavailable = false
            for _ in 0..<20 {
                do {
                    _ = try await redis.send(.ping())
                } catch let error as RedisClientError {
                    #expect([.unavailable, .connectionClosed].contains(error.code))
                    sawUnavailable = error.code == .unavailable
                    if sawUnavailable { break }
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(sawUnavailable)
            // Failing must be quick (taskd answers 503 at once): well under the 5 s command timeout,
            // with room for a loaded machine.
            #expect(ContinuousClock.now - started < .seconds(4))

            let second = try RedisServerProcess(port: port)
            let recovered = try await eventually { try await redis.send(.ping()) == .simpleString("PONG") }
            #expect(recovered)
            await second.stop()
        }
    }

    /// Every command in flight when the connection drops fails with an error, none hangs.
    @Test func inFlightCommandsFailWhenTheServerDies() async throws {
        let server = try await RedisServerProcess.started()
        try await withClient(url: server.url, configure: { $0.poolSize = 1 }) { redis in
            _ = try await redis.send(.ping())
            let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<200 {
                    group.addTask {
                        do {
                            _ = try await redis.withDedicatedConnection(forSlot: nil) { connection in
                                try await connection.send(RedisCommand("BLPOP", ["never", "0"]), timeout: .seconds(30))
                            }
                            return true
                        } catch {
                            return false
                        }
                    }
                }
                try await Task.sleep(for: .milliseconds(300))
                await server.stop()
                var results: [Bool] = []
                for try await outcome in group { results.append(outcome) }
                return results
            }
            #expect(outcomes.count == 200)
            #expect(outcomes.allSatisfy { !$0 })
        }
    }

    /// A connection killed while a pipeline is half answered: the pipeline fails as a whole with
    /// `connectionClosed` although its first reply was in, and so does every request queued behind
    /// it on the same connection; none hangs, none gets another's reply, and the connection refuses
    /// further commands at once.
    @Test func pipelineBrokenMidFlightFailsEveryPendingRequest() async throws {
        let server = try await RedisServerProcess.started()
        let configuration = try RedisConfiguration(url: server.url)
        let connection = try await RedisConnection.connect(to: configuration.endpoints[0], configuration: configuration)
        let observer = try await RedisConnection.connect(to: configuration.endpoints[0], configuration: configuration)
        defer { connection.close(); observer.close() }
        let key = TestEnvironment.uniquePrefix()
        let id = try #require(try await connection.send(RedisCommand("CLIENT", ["ID"])).int)
        #expect(try await connection.send(RedisCommand("INCR", [.string(key)], keys: [key])) == 1)

        let outcomes = try await withThrowingTaskGroup(of: RedisClientError.Code?.self) { group in
            // The pipeline: its INCR is answered, then BLPOP blocks it for good.
            group.addTask {
                do {
                    _ = try await connection.pipeline([
                        RedisCommand("INCR", [.string(key)], keys: [key]),
                        RedisCommand("BLPOP", [.string(key + ":never"), "0"], keys: [key + ":never"]),
                        RedisCommand("INCR", [.string(key)], keys: [key]),
                    ])
                    return nil
                } catch let error as RedisClientError {
                    return error.code
                }
            }
            #expect(try await eventually { try await observer.send(.get(key)) == "2" })
            // Requests behind the blocked pipeline, singles and pipelines.
            for i in 0..<20 {
                group.addTask {
                    do {
                        if i.isMultiple(of: 2) {
                            _ = try await connection.send(.ping())
                        } else {
                            _ = try await connection.pipeline([.ping(), RedisCommand("INCR", [.string(key)], keys: [key])])
                        }
                        return nil
                    } catch let error as RedisClientError {
                        return error.code
                    }
                }
            }
            _ = try await observer.send(RedisCommand("CLIENT", ["KILL", "ID", .integer(id)]))
            var codes: [RedisClientError.Code?] = []
            for try await code in group { codes.append(code) }
            return codes
        }
        #expect(outcomes.count == 21)
        #expect(outcomes.allSatisfy { $0 == .connectionClosed })
        // Nothing queued behind the blocked pipeline ran: its first INCR did, the rest never.
        #expect(try await observer.send(.get(key)) == "2")
        #expect(try await eventually { !connection.isActive })
        await #expect {
            _ = try await connection.send(.ping())
        } throws: { error in
            (error as? RedisClientError)?.code == .connectionClosed
        }
        await server.stop()
    }
}
