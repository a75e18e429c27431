import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import RedisClient
import TaskAPI
@testable import TaskEngine
import TaskEvents
import TestSupport
import Testing

/// A replica in-process: its own Redis client, store, change hub (running) and router.
struct Replica: Sendable {
    let store: TaskStore
    let hub: TaskChangeHub
    let app: Application<RouterResponder<AppRequestContext>>
}

/// Runs two replicas (A and B) on the test Redis under one fresh prefix, with hubs running.
func withReplicas<T: Sendable>(
    url: String = TestEnvironment.redisURL, taskEventsMaxLen: Int = 1000, bufferLimit: Int = 1000,
    _ body: @Sendable (Replica, Replica, HTTPFields) async throws -> T
) async throws -> T {
    let prefix = TestEnvironment.uniquePrefix("live")
    return try await withClient(url: url) { redisA in
        try await withClient(url: url) { redisB in
            var replicas: [Replica] = []
            var authorization: HTTPFields = [:]
            for redis in [redisA, redisB] {
                let configuration = TaskEngineConfiguration(keyspace: try TaskKeyspace(prefix: prefix, shardCount: TestEnvironment.shards), taskEventsMaxLen: taskEventsMaxLen)
                let store = try TaskStore(redis: redis, configuration: configuration, logger: TestEnvironment.logger)
                try await store.loadScripts()
                let keys = APIKeyStore(redis: redis, keyspace: configuration.keyspace)
                if authorization.isEmpty {
                    let (key, secret) = try await keys.create(role: .admin, name: "live")
                    TestSecrets.record(secret)
                    authorization = [.authorization: "Bearer \(key.key):\(secret)", .contentType: "application/json"]
                }
                let hub = TaskChangeHub(store: store, bufferLimit: bufferLimit, logger: TestEnvironment.logger)
                replicas.append(Replica(store: store, hub: hub, app: Application(router: buildRouter(store: store, keys: keys, hub: hub, logger: TestEnvironment.logger))))
            }
            let (a, b, auth) = (replicas[0], replicas[1], authorization)
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await a.hub.run() }
                group.addTask { await b.hub.run() }
                defer { group.cancelAll() }
                return try await body(a, b, auth)
            }
        }
    }
}

/// `(id, event, data)` triples of an SSE body.
func sseEvents(_ body: ByteBuffer) -> [(id: String?, event: String, data: [String: Any])] {
    String(buffer: body).components(separatedBy: "\n\n").compactMap { frame in
        var id: String?
        var event: String?
        var data: [String: Any] = [:]
        for line in frame.split(separator: "\n") {
            if line.hasPrefix("id: ") { id = String(line.dropFirst(4)) }
            if line.hasPrefix("event: ") { event = String(line.dropFirst(7)) }
            if line.hasPrefix("data: ") {
                data = (try? JSONSerialization.jsonObject(with: Data(line.dropFirst(6).utf8))) as? [String: Any] ?? [:]
            }
        }
        return event.map { (id, $0, data) }
    }
}

@Suite(.tags(.processes)) struct LivePushTests {
    /// Heartbeats through replica A, the watcher on replica B: every event, in order, once.
    @Test func watcherOnAnotherReplicaSeesEveryEvent() async throws {
        try await withReplicas { a, b, auth in
            let created = try await a.store.create(NewTask(commandType: "live"))
            let updates = 200
            try await b.app.test(.router) { client in
                async let watched = client.execute(uri: "/v1/tasks/\(created.id)/events", method: .get, headers: auth)
                try await Task.sleep(for: .milliseconds(100))
                let claim = try #require(try await a.store.claim(workerId: "w", commandTypes: ["live"]))
                for step in 1...updates {
                    _ = try await a.store.heartbeat(created.id, Heartbeat(leaseToken: claim.leaseToken, state: "step \(step)"))
                }
                _ = try await a.store.complete(created.id, leaseToken: claim.leaseToken)
                let events = sseEvents(try await watched.body)
                #expect(events.map(\.event).first == "created")
                #expect(events.map(\.event).last == "status")
                #expect(events.count == updates + 3, "created, claimed, \(updates) heartbeats, completed")
                let versions = events.compactMap { $0.data["version"] as? Int }
                #expect(versions == Array(1...(updates + 3)), "in order, once each")
                #expect(Set(events.compactMap(\.id)).count == events.count)
                #expect(events.last?.data["lifecycleStatus"] as? String == "completed")
            }
        }
    }

    /// The pub/sub connection is killed in the middle of 1,000 updates: the watcher still gets all.
    /// On a server of its own: CLIENT KILL TYPE pubsub would hit every other suite's subscribers too.
    @Test func survivesPubSubKill() async throws {
        let server = try await RedisServerProcess.started()
        try await withReplicas(url: server.url) { a, b, auth in
            let created = try await a.store.create(NewTask(commandType: "kill"))
            try await b.app.test(.router) { client in
                async let watched = client.execute(uri: "/v1/tasks/\(created.id)/events", method: .get, headers: auth)
                try await Task.sleep(for: .milliseconds(100))
                let claim = try #require(try await a.store.claim(workerId: "w", commandTypes: ["kill"]))
                for step in 1...1000 {
                    if step == 300 || step == 700 {
                        _ = try await a.store.redis.send(RedisCommand("CLIENT", ["KILL", "TYPE", "pubsub"]))
                    }
                    _ = try await a.store.heartbeat(created.id, Heartbeat(leaseToken: claim.leaseToken, progress: Double(step) / 10))
                }
                _ = try await a.store.complete(created.id, leaseToken: claim.leaseToken)
                let versions = sseEvents(try await watched.body).compactMap { $0.data["version"] as? Int }
                #expect(versions == Array(1...1003))
            }
        }
        await server.stop()
    }

    /// Resume with Last-Event-ID: exactly the events after it; after trimmed history, a snapshot first.
    @Test func resumeAndTrimmedHistory() async throws {
        try await withReplicas(taskEventsMaxLen: 10) { a, b, auth in
            let created = try await a.store.create(NewTask(commandType: "resume"))
            let claim = try #require(try await a.store.claim(workerId: "w", commandTypes: ["resume"]))
            for step in 1...5 {
                _ = try await a.store.heartbeat(created.id, Heartbeat(leaseToken: claim.leaseToken, state: "s\(step)"))
            }
            try await b.app.test(.router) { client in
                async let watched = client.execute(uri: "/v1/tasks/\(created.id)/events", method: .get, headers: auth)
                try await Task.sleep(for: .milliseconds(100))
                _ = try await a.store.complete(created.id, leaseToken: claim.leaseToken)
                let all = sseEvents(try await watched.body)
                #expect(all.count == 8)
                let resumeAfter = try #require(all[3].id)
                let resumed = try await client.execute(uri: "/v1/tasks/\(created.id)/events", method: .get,
                                                       headers: auth + [HTTPField.Name("Last-Event-ID")!: resumeAfter])
                #expect(sseEvents(resumed.body).map(\.id) == all[4...].map(\.id), "no gap, no duplicate")

                let bad = try await client.execute(uri: "/v1/tasks/\(created.id)/events", method: .get,
                                                   headers: auth + [HTTPField.Name("Last-Event-ID")!: "yesterday"])
                #expect(bad.status == .badRequest)
            }
            // Enough events that MAXLEN ~ 10 trims whole stream nodes (100 entries each by default).
            let second = try await a.store.create(NewTask(commandType: "resume"))
            let lease = try #require(try await a.store.claim(workerId: "w", commandTypes: ["resume"]))
            let first = try #require(try await a.store.events(ofTask: second.id, after: nil).events.first)
            for step in 1...250 {
                _ = try await a.store.heartbeat(second.id, Heartbeat(leaseToken: lease.leaseToken, state: "t\(step)"))
            }
            _ = try await a.store.complete(second.id, leaseToken: lease.leaseToken)
            try await b.app.test(.router) { client in
                let resumed = try await client.execute(uri: "/v1/tasks/\(second.id)/events", method: .get,
                                                       headers: auth + [HTTPField.Name("Last-Event-ID")!: first.id])
                let events = sseEvents(resumed.body)
                #expect(events.first?.event == "snapshot")
                #expect(events.first?.data["historyTrimmed"] as? Bool == true)
                #expect(events.last?.data["lifecycleStatus"] as? String == "completed")
            }
        }
    }

    /// 1,000 watchers of one task on one replica all complete; their feed reads once per change.
    @Test func thousandWatchers() async throws {
        try await withReplicas { a, b, auth in
            let created = try await a.store.create(NewTask(commandType: "crowd"))
            try await b.app.test(.router) { client in
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<1000 {
                        group.addTask { sseEvents(try await client.execute(uri: "/v1/tasks/\(created.id)/events", method: .get, headers: auth).body).count }
                    }
                    try await Task.sleep(for: .milliseconds(500))
                    let claim = try #require(try await a.store.claim(workerId: "w", commandTypes: ["crowd"]))
                    for step in 1...10 {
                        _ = try await a.store.heartbeat(created.id, Heartbeat(leaseToken: claim.leaseToken, progress: Double(step * 10)))
                    }
                    _ = try await a.store.complete(created.id, leaseToken: claim.leaseToken)
                    var counts: [Int] = []
                    for try await count in group { counts.append(count) }
                    #expect(counts.count == 1000)
                    #expect(counts.allSatisfy { $0 == 13 }, "created, claimed, 10 progress, completed")
                }
            }
        }
    }

    /// A watcher that does not read is dropped with a reason; the others get everything.
    @Test func stalledWatcherIsDropped() async throws {
        try await withReplicas(bufferLimit: 5) { a, b, _ in
            let created = try await a.store.create(NewTask(commandType: "stall"))
            let stalled = try await b.hub.subscribe(to: created.id)
            let reader = try await b.hub.subscribe(to: created.id)
            let claim = try #require(try await a.store.claim(workerId: "w", commandTypes: ["stall"]))
            async let seen: [Int64] = {
                var versions: [Int64] = []
                for await item in reader.stream {
                    if case .events(let events, _) = item { versions += events.map(\.version) }
                    if versions.last == 33 { break }
                }
                return versions
            }()
            for step in 1...30 {
                _ = try await a.store.heartbeat(created.id, Heartbeat(leaseToken: claim.leaseToken, progress: Double(step)))
                try await Task.sleep(for: .milliseconds(5))
            }
            _ = try await a.store.complete(created.id, leaseToken: claim.leaseToken)
            #expect(await seen == Array(2...33), "claimed (2), 30 heartbeats, completed (33)")
            let dropped = try await eventually { stalled.endReason != nil }
            #expect(dropped)
            #expect(stalled.endReason?.contains("behind") == true)
            b.hub.unsubscribe(reader, from: created.id)
        }
    }

    /// Long-poll: wakes on change; times out with 304.
    @Test func longPoll() async throws {
        try await withReplicas { a, b, auth in
            let created = try await a.store.create(NewTask(commandType: "poll"))
            try await b.app.test(.router) { client in
                let waitHeaders = auth + [.ifNoneMatch: "\"1\"", HTTPField.Name("Prefer")!: "wait=10"]
                async let woken = client.execute(uri: "/v1/tasks/\(created.id)", method: .get, headers: waitHeaders)
                try await Task.sleep(for: .milliseconds(200))
                _ = try await a.store.claim(workerId: "w", commandTypes: ["poll"])
                let response = try await woken
                #expect(response.status == .ok)
                #expect(response.headers[.eTag] == "\"2\"")

                let quiet = try await client.execute(uri: "/v1/tasks/\(created.id)", method: .get,
                                                     headers: auth + [.ifNoneMatch: "\"2\"", HTTPField.Name("Prefer")!: "wait=1"])
                #expect(quiet.status == .notModified)
            }
        }
    }
}
