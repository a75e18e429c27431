import Foundation
import RESP
import RedisClient
import TestSupport
import Testing

@Suite(.tags(.processes)) struct RedisScriptTests {
    static let library: ScriptLibrary = {
        let directory = Bundle.module.resourceURL!.appendingPathComponent("Fixtures")
        return try! ScriptLibrary(directory: directory)
    }()

    @Test func includesAreFlattenedOnce() throws {
        let script = try Self.library.script("incr-by-twice-1")
        #expect(!script.source.contains("@include"))
        #expect(script.source.components(separatedBy: "local function add(").count == 2)
        #expect(script.source.contains("local function twice("))
        // `add` must come before `twice`, which calls it.
        #expect(script.source.range(of: "function add(")!.lowerBound < script.source.range(of: "function twice(")!.lowerBound)
        #expect(script.sha1.count == 40)
        #expect(throws: ScriptLibraryError.self) { try Self.library.script("nope") }
    }

    @Test func shaMatchesRedis() async throws {
        let script = try Self.library.script("incr-by-twice-1")
        try await withClient { redis in
            let sha = try await redis.send(RedisCommand("SCRIPT", ["LOAD", .string(script.source)]))
            #expect(sha.string == script.sha1)
        }
    }

    /// `SCRIPT FLUSH` empties Redis's script cache: the next call gets NOSCRIPT and is sent again as EVAL.
    @Test func reloadsAfterScriptFlush() async throws {
        let script = try Self.library.script("incr-by-twice-1")
        let key = TestEnvironment.uniquePrefix()
        // A private server, so flushing its script cache cannot disturb other tests.
        let server = try await RedisServerProcess.started()
        try await withClient(url: server.url) { redis in
            #expect(try await redis.evalScript(script, keys: [key], arguments: [.integer(3)]) == 6)
            _ = try await redis.send(RedisCommand("SCRIPT", ["FLUSH"]))
            let exists = try await redis.send(RedisCommand("SCRIPT", ["EXISTS", .string(script.sha1)]))
            #expect(exists == [0])
            #expect(try await redis.evalScript(script, keys: [key], arguments: [.integer(2)]) == 10)
            // The EVAL cached it again: the next call goes by SHA1.
            #expect(try await redis.send(RedisCommand("SCRIPT", ["EXISTS", .string(script.sha1)])) == [1])
        }
        await server.stop()
    }

    /// A cache flushed again and again (an operator's `SCRIPT FLUSH` in a loop, the fault suite's
    /// every second): no call fails, not even one whose retry meets a second flush.
    @Test func runsWhileTheCacheIsFlushedAgainAndAgain() async throws {
        let script = try Self.library.script("incr-by-twice-1")
        let key = TestEnvironment.uniquePrefix()
        let server = try await RedisServerProcess.started()
        try await withClient(url: server.url) { redis in
            try await withClient(url: server.url) { flusher in
                let calls = 500
                let flushes = try await withThrowingTaskGroup(of: Int.self) { group in
                    group.addTask {
                        // Bounded: one flush per round trip, at most twenty for every call.
                        var flushes = 0
                        while !Task.isCancelled, flushes < calls * 20 {
                            _ = try await flusher.send(RedisCommand("SCRIPT", ["FLUSH"]))
                            flushes += 1
                        }
                        return flushes
                    }
                    for _ in 0..<calls {
                        _ = try await redis.evalScript(script, keys: [key], arguments: [.integer(1)])
                    }
                    group.cancelAll()
                    return try await group.next() ?? 0
                }
                #expect(flushes > 0)
                // Every call ran exactly once: each adds 2.
                #expect(try await redis.send(.get(key)).string == String(calls * 2))
            }
        }
        await server.stop()
    }

    @Test func scriptErrorsAreServerErrors() async throws {
        let script = RedisScript(name: "boom", source: "return redis.error_reply('TASKD_TEST boom')")
        try await withClient { redis in
            await #expect {
                try await redis.evalScript(script, keys: ["k"], arguments: [])
            } throws: { error in
                (error as? RedisServerError)?.message == "TASKD_TEST boom"
            }
        }
    }
}
