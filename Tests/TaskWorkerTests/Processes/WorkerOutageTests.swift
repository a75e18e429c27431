import Foundation
import Logging
import RedisClient
import Synchronization
import TaskEngine
import TaskWorker
import TestSupport
import Testing

/// Redis goes away under a running worker: claims are retried with backoff and the outage is
/// logged once, not per attempt; when Redis returns the worker claims and completes work again.
@Suite(.tags(.processes)) struct WorkerOutageTests {
    @Test func claimsRetryQuietlyAndRecover() async throws {
        let first = try await RedisServerProcess.started()
        let port = first.port
        let lines = LogLines()
        var logger = Logger(label: "worker") { _ in lines }
        logger.logLevel = .info
        try await withClient(url: first.url) { redis in
            let store = try TaskStore(redis: redis, configuration: TaskEngineConfiguration(keyspace: try TaskKeyspace(prefix: "outage")), logger: TestEnvironment.logger)
            try await store.loadScripts()
            let worker = TaskWorker(
                store: store, configuration: TaskWorkerConfiguration(commandTypes: ["job"], concurrency: 2, lease: .seconds(5), claimWait: .seconds(1)),
                logger: logger) { _ in #"{"ok":true}"# }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await worker.run() }
                defer { group.cancelAll() }
                let before = try await store.create(NewTask(commandType: "job"))
                #expect(try await eventually { try await store.get(before.id)?.status == .completed })

                await first.stop()
                try await Task.sleep(for: .seconds(4))   // many claim attempts' worth of outage
                let second = try RedisServerProcess(port: port)
                defer { second.stopNow() }
                // A fresh server lost the scripts and tasks: the client reloads scripts on NOSCRIPT.
                let after = try await eventually(timeout: .seconds(15)) {
                    (try? await store.create(NewTask(commandType: "job"))) != nil
                }
                #expect(after)
                #expect(try await eventually(timeout: .seconds(15)) {
                    try await store.counts().finished >= 1 && lines.count("cannot claim") >= 1
                })
                #expect(lines.count("cannot claim") == 1, "the outage is logged once: \(lines.all)")
                #expect(lines.count("claims work again") == 1)
            }
        }
        await first.stop()
    }
}

/// A log handler that keeps the messages, for tests that read what was logged.
final class LogLines: LogHandler, @unchecked Sendable {
    private let messages = Mutex<[String]>([])
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        messages.withLock { $0.append(event.message.description) }
    }

    var all: [String] { messages.withLock { $0 } }
    func count(_ fragment: String) -> Int { all.filter { $0.contains(fragment) }.count }
}
