import Foundation
import NIOCore
import RESP
import RedisClient
import Synchronization
import TaskEngine
import TestSupport
import Testing

/// What the Sentinel phase of `./dev test` turns on: a master killed five times under load
/// (Tests/Sentinel/redis-sentinel.sh set up the servers; TASKD_TEST_SENTINEL_DIR is where).
enum SentinelTestPhase {
    static var failover: Bool { ProcessInfo.processInfo.environment["TASKD_TEST_SENTINEL_FAILOVER"] == "1" }
    static var directory: String? { ProcessInfo.processInfo.environment["TASKD_TEST_SENTINEL_DIR"] }
}

@Suite(.enabled(if: SentinelTestPhase.failover, "needs the Sentinel phase of ./dev test (TASKD_TEST_SENTINEL_FAILOVER=1)"))
struct SentinelFailoverTests {
    static let rounds = 5

    /// Eight workers run lifecycles (create → claim → heartbeat → complete), each transition
    /// acknowledged by one replica (`WAIT 1`), while the master is SIGKILLed five times; after each
    /// failover the killed server is started again as a replica of the new master. Every time:
    /// writes resume within down-after (1 s) + election + 2 s, callers see only `unavailable`,
    /// the keyspace watcher misses nothing (a `.gap` and a re-read are fine), the scripts are on
    /// the new master, the topology version moved, and no acknowledged transition is lost.
    @Test func masterKilledFiveTimes() async throws {
        let directory = try #require(SentinelTestPhase.directory, "TASKD_TEST_SENTINEL_DIR is not set")
        let prefix = TestEnvironment.uniquePrefix()
        // The promoted master has no replica until the killed one is back: WAITs there time out
        // (and are counted as under-replicated); short, so the test is too.
        let ack = TaskEngineConfiguration.ReplicaAcknowledgement(replicas: 1, timeout: .milliseconds(50))
        try await withClient { redis in
            let store = try TaskStore(
                redis: redis,
                configuration: TaskEngineConfiguration(keyspace: try TaskKeyspace(prefix: prefix, shardCount: 2), replicaAcknowledgement: ack),
                clock: SystemClock(), logger: TestEnvironment.logger)
            let marker = RedisScript(name: "sentinel-test-marker", source: "return 'marker:\(prefix)'")
            _ = try await redis.evalScript(marker, keys: [], arguments: [])
            let workload = SentinelWorkload(store: store)
            let watcher = KeyspaceWatcher(redis: redis, store: store, prefix: prefix, workload: workload)
            let recoveries = Mutex<[Duration]>([])
            try await watcher.run {
                try await workload.run {
                    for round in 1...Self.rounds {
                        try await Task.sleep(for: .seconds(1))
                        let status = try #require(redis.sentinelStatus)
                        let victim = try #require(status.master, "no master in use: \(status)")
                        #expect(status.isReady, "\(status)")
                        let topology = redis.router.topologyVersion
                        let replication = try await redis.send(RedisCommand("INFO", ["replication"])).string ?? ""
                        try #require(replication.contains("state=online"), "round \(round): the master to kill has no replica in sync")
                        let info = try await redis.send(RedisCommand("INFO", ["server"])).string ?? ""
                        let pid = try #require(info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("process_id:") }
                            .flatMap { Int32($0.dropFirst("process_id:".count)) })
                        // A crash, not a SHUTDOWN (which waits for the replica to catch up first).
                        kill(pid, SIGKILL)
                        let killedAt = ContinuousClock.now
                        let resumed = try await eventually(timeout: .seconds(30)) { workload.firstWrite(after: killedAt) != nil }
                        try #require(resumed, "round \(round): no write succeeded within 30 s of the kill")
                        let recovery = try #require(workload.firstWrite(after: killedAt)) - killedAt
                        recoveries.withLock { $0.append(recovery) }
                        let now = try #require(redis.sentinelStatus)
                        print("sentinel failover \(round)/\(Self.rounds): writes resumed \(recovery.milliseconds) ms after SIGKILL of \(victim); master now \(now.master.map { "\($0)" } ?? "—")")
                        #expect(recovery < .seconds(8), "round \(round): down-after 1 s + election + 2 s, generously")
                        let newMaster = try #require(now.master)
                        #expect(newMaster != victim)
                        #expect(redis.router.topologyVersion != topology, "the topology version must move so notify-keyspace-events is checked again")
                        let scripts = try await redis.send(RedisCommand("SCRIPT", ["EXISTS", .string(marker.sha1)]))
                        #expect(scripts.array?.first?.int == 1, "round \(round): scripts not loaded on the new master")
                        try await restartAsReplica(victim, of: newMaster, directory: directory)
                    }
                    try await Task.sleep(for: .seconds(1))
                }
            }
            let report = workload.report
            let lost = try await workload.lost()
            let unseen = watcher.unseenCompletions()
            let shown = recoveries.withLock { $0 }.map { "\($0.milliseconds) ms" }.joined(separator: ", ")
            print("sentinel failover: recoveries \(shown); \(report); keyspace gaps \(watcher.gaps); lost \(lost.count); unseen completions \(unseen.count)")
            #expect(report.completed > 0 && report.created > 0)
            #expect(report.foreignErrors.isEmpty, "callers must see only unavailable: \(report.foreignErrors.prefix(5))")
            #expect(lost.isEmpty, "acknowledged transitions lost: \(lost.prefix(5))")
            #expect(unseen.isEmpty, "the keyspace watcher missed completions: \(unseen.prefix(5))")
            #expect(watcher.gaps >= Self.rounds, "every switch must tell subscribers .gap")
        }
    }
}

extension Duration {
    fileprivate var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}

/// Starts the killed server again from its config file, as a replica of the new master, and waits
/// until it is in sync and every sentinel counts it as a healthy replica (so the next failover has one).
private func restartAsReplica(_ server: RedisConfiguration.Endpoint, of master: RedisConfiguration.Endpoint, directory: String) async throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
    process.arguments = ["\(directory)/redis-\(server.port)/redis.conf", "--replicaof", master.host, String(master.port)]
    // It logs to its file; it must not hold the test's output open (swift test waits for its end).
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    let configuration = RedisConfiguration(endpoints: [server], connectTimeout: .milliseconds(500), commandTimeout: .seconds(2))
    let inSync = try await eventually(timeout: .seconds(30)) {
        let connection = try await RedisConnection.connect(to: server, configuration: configuration)
        defer { connection.close() }
        let info = try await connection.send(RedisCommand("INFO", ["replication"])).string ?? ""
        return info.contains("master_link_status:up") && info.contains("master_port:\(master.port)")
    }
    try #require(inSync, "\(server) did not sync with \(master)")
    let sentinels = try #require(try RedisConfiguration(url: TestEnvironment.redisURL).sentinel)
    let known = try await eventually(timeout: .seconds(30)) {
        for sentinel in sentinels.endpoints {
            let connection = try await RedisConnection.connect(to: sentinel, configuration: RedisConfiguration(endpoints: [sentinel]))
            defer { connection.close() }
            let replicas = try await connection.send(RedisCommand("SENTINEL", ["replicas", .string(sentinels.serviceName)])).array ?? []
            let fields = replicas.compactMap { $0.array.map(fieldMap) }
            guard fields.contains(where: { $0["port"] == String(server.port) && $0["flags"] == "slave" }) else { return false }
        }
        return true
    }
    try #require(known, "the sentinels do not count \(server) as a healthy replica")
}

/// `[k1, v1, k2, v2, …]` → `[k1: v1, …]`.
private func fieldMap(_ flat: [RESPValue]) -> [String: String] {
    var map: [String: String] = [:]
    for index in stride(from: 0, to: flat.count - 1, by: 2) {
        if let key = flat[index].string { map[key] = flat[index + 1].string }
    }
    return map
}

/// Workers that loop create → claim → heartbeat → complete through the public `TaskStore` calls,
/// recording every acknowledged transition, every error and when writes succeeded.
final class SentinelWorkload: Sendable {
    struct Report: Sendable, CustomStringConvertible {
        var created = 0
        var completed = 0
        var unavailable = 0
        /// Errors other than `RedisClientError.unavailable`: none may happen.
        var foreignErrors: [String] = []
        var description: String { "\(created) created, \(completed) completed, \(unavailable) calls unavailable, \(foreignErrors.count) other errors" }
    }

    private struct State {
        var report = Report()
        /// Task → its last acknowledged status.
        var acknowledged: [String: TaskStatus] = [:]
        /// When successful writes that started after a moment ended: (started, ended).
        var writes: [(started: ContinuousClock.Instant, ended: ContinuousClock.Instant)] = []
    }

    let store: TaskStore
    private let state = Mutex(State())
    private let stopping = Mutex(false)
    static let workers = 8
    static let commandType = "sentinel-workload"

    init(store: TaskStore) { self.store = store }

    var report: Report { state.withLock { $0.report } }
    var taskIDs: [String] { state.withLock { Array($0.acknowledged.keys) } }

    /// Runs the workers while `during` runs, then stops and drains them (at most 60 s).
    func run(during: @Sendable () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<Self.workers {
                group.addTask { await self.work(worker: worker) }
            }
            defer { stopping.withLock { $0 = true } }
            try await during()
            stopping.withLock { $0 = true }
            try await group.waitForAll()
        }
    }

    private func work(worker: Int) async {
        let deadline = ContinuousClock.now + .seconds(240)
        var idle = 0
        while ContinuousClock.now < deadline {
            let stop = stopping.withLock { $0 }
            if !stop {
                await attempt { let id = try await store.create(NewTask(commandType: Self.commandType)).id; return (id, .queued) }
            }
            var claimed: ClaimedTask?
            await attempt {
                claimed = try await store.claim(workerId: "w\(worker)", commandTypes: [Self.commandType])
                return claimed.map { ($0.id, .running) }
            }
            guard let task = claimed else {
                idle += 1
                if stop && idle > 3 { return }
                try? await Task.sleep(for: .milliseconds(20))
                continue
            }
            idle = 0
            await attempt { _ = try await store.heartbeat(task.id, Heartbeat(leaseToken: task.leaseToken, progress: 50)); return (task.id, .running) }
            await attempt { _ = try await store.complete(task.id, leaseToken: task.leaseToken); return (task.id, .completed) }
        }
    }

    /// Runs one transition; records what it acknowledged, or its error.
    private func attempt(_ call: () async throws -> (String, TaskStatus)?) async {
        let started = ContinuousClock.now
        do {
            guard let (id, status) = try await call() else { return }
            let ended = ContinuousClock.now
            state.withLock { state in
                state.writes.append((started, ended))
                state.acknowledged[id] = status
                if status == .queued { state.report.created += 1 }
                if status == .completed { state.report.completed += 1 }
            }
        } catch let error as RedisClientError where error.code == .unavailable {
            state.withLock { $0.report.unavailable += 1 }
        } catch {
            state.withLock { $0.report.foreignErrors.append("\(type(of: error)): \(error)") }
        }
    }

    /// When the first write that started after `instant` succeeded.
    func firstWrite(after instant: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        state.withLock { state in state.writes.lazy.filter { $0.started > instant }.map(\.ended).min() }
    }

    /// Tasks whose last acknowledged transition Redis no longer shows: missing, or not completed
    /// though completing was acknowledged.
    func lost() async throws -> [String] {
        let acknowledged = state.withLock { $0.acknowledged }
        var lost: [String] = []
        for (id, status) in acknowledged {
            guard let task = try await store.get(id) else {
                lost.append("\(id): gone")
                continue
            }
            if status == .completed && task.status != .completed { lost.append("\(id): \(task.status), completing was acknowledged") }
        }
        return lost
    }
}

/// A keyspace-notification watcher as taskd's feeds are: re-reads a task when its event stream is
/// written, and every task on `.gap`; after a topology change it checks `notify-keyspace-events`
/// on the new master first (as TaskChangeHub does).
final class KeyspaceWatcher: Sendable {
    private struct State {
        var dirty: Set<String> = []
        var seen: [String: TaskStatus] = [:]
        var gaps = 0
    }

    private let redis: RedisClient
    private let store: TaskStore
    private let prefix: String
    private let workload: SentinelWorkload
    private let state = Mutex(State())

    init(redis: RedisClient, store: TaskStore, prefix: String, workload: SentinelWorkload) {
        self.redis = redis
        self.store = store
        self.prefix = prefix
        self.workload = workload
    }

    var gaps: Int { state.withLock { $0.gaps } }

    /// Tasks that Redis shows completed at the end but that the watcher never saw completed.
    func unseenCompletions() -> [String] {
        let seen = state.withLock { $0.seen }
        return completed.withLock { $0 }.filter { seen[$0] != .completed }.sorted()
    }

    /// The tasks completed in Redis once the watcher has caught up.
    private let completed = Mutex<Set<String>>([])

    /// Watches while `body` runs, then catches up (at most 30 s) and records what completed.
    func run(during body: @Sendable () async throws -> Void) async throws {
        try await ensureNotifications()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.listen() }
            group.addTask { await self.reread() }
            defer { group.cancelAll() }
            try await body()
            // Let the last notifications arrive and be read.
            let settled = try await eventually(timeout: .seconds(30)) {
                try await Task.sleep(for: .milliseconds(300))
                return state.withLock { $0.dirty.isEmpty }
            }
            #expect(settled, "the watcher did not catch up")
        }
        let finished = try await store.get(workload.taskIDs).filter { $0.status == .completed }.map(\.id)
        completed.withLock { $0 = Set(finished) }
    }

    private func ensureNotifications() async throws {
        for node in try await redis.masters() {
            _ = try await node.pool.send(RedisCommand("CONFIG", ["SET", "notify-keyspace-events", "Kt"]))
        }
    }

    private func listen() async throws {
        var checkedTopology = redis.router.topologyVersion
        let pattern = "__keyspace@\(redis.configuration.database)__:\(prefix):*"
        while !Task.isCancelled {
            do {
                try await redis.subscribeOnEveryMaster(patterns: [pattern]) { events in
                    for await event in events {
                        switch event {
                        case .message(let message):
                            if let id = Self.taskID(fromChannel: message.channel) {
                                state.withLock { _ = $0.dirty.insert(id) }
                            }
                        case .gap:
                            if redis.router.topologyVersion != checkedTopology {
                                checkedTopology = redis.router.topologyVersion
                                try? await ensureNotifications()
                            }
                            let all = workload.taskIDs
                            state.withLock { state in
                                state.gaps += 1
                                state.dirty.formUnion(all)
                            }
                        }
                    }
                }
            } catch {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// `__keyspace@0__:<prefix>:{…}:task:<id>:events` → `<id>`.
    static func taskID(fromChannel channel: String) -> String? {
        guard channel.hasSuffix(":events"), let range = channel.range(of: ":task:") else { return nil }
        let id = channel[range.upperBound...].dropLast(":events".count)
        return id.isEmpty ? nil : String(id)
    }

    private func reread() async {
        while !Task.isCancelled {
            let batch = state.withLock { state in
                defer { state.dirty = [] }
                return state.dirty
            }
            if batch.isEmpty {
                try? await Task.sleep(for: .milliseconds(20))
                continue
            }
            var failed: Set<String> = []
            for id in batch {
                do {
                    if let task = try await store.get(id) { state.withLock { $0.seen[id] = task.status } }
                } catch {
                    failed.insert(id)
                }
            }
            // Not read (the master was away): read again.
            if !failed.isEmpty { state.withLock { $0.dirty.formUnion(failed) } }
        }
    }
}
