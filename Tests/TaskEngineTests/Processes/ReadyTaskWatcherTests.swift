import RESP
import RedisClient
@testable import TaskEngine
import TestSupport
import Testing

/// The ready-task watcher reads the shard streams only while a claim waits: a replica whose claims
/// all find work (or that has none) reads nothing, and a claim that starts waiting is still woken.
@Suite(.tags(.processes)) struct ReadyTaskWatcherTests {
    @Test func readsOnlyWhileAClaimWaits() async throws {
        let server = try await RedisServerProcess.started()
        try await withClient(url: server.url) { redis in
            let store = try TaskStore(redis: redis, configuration: TaskEngineConfiguration(keyspace: try TaskKeyspace(prefix: "watcher")), logger: TestEnvironment.logger)
            try await store.loadScripts()
            func xreads() async throws -> Int {
                let info = try await redis.send(RedisCommand("INFO", ["commandstats"])).string ?? ""
                guard let line = info.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("cmdstat_xread:") }),
                      let range = line.range(of: "calls=") else { return 0 }
                return Int(line[range.upperBound...].prefix(while: \.isNumber)) ?? 0
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await store.readyTaskWatcher.run() }
                defer { group.cancelAll() }
                try await Task.sleep(for: .milliseconds(300))
                let before = try await xreads()
                for _ in 0..<20 { _ = try await store.create(NewTask(commandType: "idle")) }
                try await Task.sleep(for: .milliseconds(1500))
                #expect(try await xreads() == before, "no claim waits: the watcher reads nothing")

                // A claim on another queue waits; a create elsewhere (another store, as another replica
                // would) must wake it through the watcher, not by its own polling.
                async let claimed = store.claim(workerId: "w", commandTypes: ["later"], wait: .seconds(10))
                try await Task.sleep(for: .milliseconds(300))
                let other = try TaskStore(redis: redis, configuration: TaskEngineConfiguration(keyspace: try TaskKeyspace(prefix: "watcher")), logger: TestEnvironment.logger)
                let started = ContinuousClock.now
                let created = try await other.create(NewTask(commandType: "later"))
                #expect(try await claimed?.id == created.id)
                #expect(ContinuousClock.now - started < .seconds(8), "woken by the watcher: with a watcher running, a claim does not poll, so without its ring it would wait the full 10 s")
                #expect(try await xreads() > before, "the waiting claim made the watcher read")
            }
        }
        await server.stop()
    }
}
