import NIOCore
import RESP
import RedisClient
import TestSupport
import Testing

@Suite(.tags(.redis)) struct RedisConnectionTests {
    @Test func setGetAndErrorReplies() async throws {
        let key = TestEnvironment.uniquePrefix() + ":k"
        try await withClient { redis in
            #expect(try await redis.send(.set(key, "hello")) == .simpleString("OK"))
            #expect(try await redis.send(.get(key)) == "hello")
            #expect(try await redis.send(.get(key + ":missing")) == .null)
            await #expect(throws: RedisServerError.self) {
                try await redis.send(RedisCommand("INCR", [.string(key)], keys: [key]))
            }
            _ = try await redis.send(.del([key]))
        }
    }

    /// 10,000 commands in one pipeline on one connection, answered in order.
    @Test func pipelineOfTenThousand() async throws {
        let key = TestEnvironment.uniquePrefix() + ":n"
        try await withClient { redis in
            let commands = (0..<10_000).map { _ in RedisCommand("INCR", [.string(key)], keys: [key]) }
            let replies = try await redis.pipeline(commands)
            #expect(replies == (1...10_000).map { RESPValue.integer(Int64($0)) })
            _ = try await redis.send(.del([key]))
        }
    }

    /// 10,000 concurrent callers share the pool's few connections; each gets its own reply.
    @Test func tenThousandConcurrentCallers() async throws {
        let prefix = TestEnvironment.uniquePrefix()
        try await withClient { redis in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<10_000 {
                    group.addTask {
                        let reply = try await redis.send(RedisCommand("ECHO", [.string("\(prefix):\(i)")]))
                        #expect(reply.string == "\(prefix):\(i)")
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    /// Error replies inside a pipeline come back as values, without hiding the other results.
    @Test func pipelineKeepsErrorsInPlace() async throws {
        let key = TestEnvironment.uniquePrefix()
        try await withClient { redis in
            let replies = try await redis.pipeline([.set(key, "x"), RedisCommand("INCR", [.string(key)], keys: [key]), .get(key), .del([key])])
            #expect(replies[0] == .simpleString("OK"))
            #expect(replies[1].errorMessage?.hasPrefix("ERR") == true)
            #expect(replies[2] == "x")
            #expect(replies[3] == 1)
        }
    }

    /// Megabyte values and small commands from many callers at once on one connection: large writes
    /// stay queued in NIO while later commands are encoded into the next buffer, and every value
    /// comes back byte for byte.
    @Test func largeAndSmallCommandsInterleaved() async throws {
        let prefix = TestEnvironment.uniquePrefix()
        try await withClient(configure: { $0.poolSize = 1 }) { redis in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<8 {
                    group.addTask {
                        let key = "\(prefix):big:\(i)"
                        // Built without a per-byte closure: mapping a megabyte byte by byte in a debug
                        // build held a pool thread for seconds, eight times over, and the other suites'
                        // connections timed out behind it (a fresh-clone run: 154 issues).
                        var value = ByteBuffer(repeating: UInt8(truncatingIfNeeded: i &* 31), count: (1 << 20) + i)
                        value.setBytes(Array("\(key):start".utf8), at: 0)
                        value.setBytes(Array(":end:\(i)".utf8), at: value.writerIndex - ":end:\(i)".utf8.count)
                        let replies = try await redis.pipeline([.set(key, .bytes(value)), .get(key), .del([key])])
                        #expect(replies == [.simpleString("OK"), .bulkString(value), 1])
                    }
                    group.addTask {
                        let key = "\(prefix):small:\(i)"
                        for n in 1...50 {
                            #expect(try await redis.send(RedisCommand("INCR", [.string(key)], keys: [key])) == .integer(Int64(n)))
                        }
                        _ = try await redis.send(.del([key]))
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    @Test func binarySafeValues() async throws {
        let key = TestEnvironment.uniquePrefix()
        let bytes = ByteBuffer(bytes: (0...255).map { UInt8($0) })
        try await withClient { redis in
            _ = try await redis.send(.set(key, .bytes(bytes)))
            #expect(try await redis.send(.get(key)) == .bulkString(bytes))
            _ = try await redis.send(.del([key]))
        }
    }

    /// A reply that does not come within the command timeout fails that command with
    /// `commandTimeout`, and the connection is replaced. The short timeout is the call's own: a
    /// client-wide 200 ms would also cut the setup of every connection on a loaded machine.
    @Test func commandTimeout() async throws {
        let key = TestEnvironment.uniquePrefix()
        try await withClient { redis in
            let started = ContinuousClock.now
            await #expect {
                try await redis.withDedicatedConnection(forSlot: nil) { connection in
                    _ = try await connection.send(RedisCommand("BLPOP", [.string(key), "30"], keys: [key]), timeout: .milliseconds(200))
                }
            } throws: { error in
                (error as? RedisClientError)?.code == .commandTimeout
            }
            // Long before Redis would have answered (30 s); generous, so a loaded machine cannot fail it.
            #expect(ContinuousClock.now - started < .seconds(20))
            // The timed-out connection is gone; the client still works.
            let pong = try await redis.send(.ping())
            #expect(pong == .simpleString("PONG"))
        }
    }

    /// A blocking command may outlive the default timeout when it says so.
    @Test func blockingCommandWithItsOwnTimeout() async throws {
        let key = TestEnvironment.uniquePrefix()
        try await withClient(configure: { $0.commandTimeout = .milliseconds(200) }) { redis in
            let reply = try await redis.withDedicatedConnection(forSlot: nil) { connection in
                try await connection.send(RedisCommand("BLPOP", [.string(key), "0.5"], keys: [key]), timeout: .seconds(2))
            }
            #expect(reply == .null)
        }
    }
}
