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
}
