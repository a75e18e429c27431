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
    /// the new master, the topology version moved, and no transition a replica acknowledged is lost.
    /// (One whose WAIT timed out may be: on a starved machine the sentinels sometimes fail over once
    /// more right after a switch, to a replica still catching up, and replication allows that loss.)
    /// The test's own questions to the master, retried while the master is away: on a starved
    /// machine the sentinels sometimes fail over once more right after a switch, and the workload
    /// counts that as `unavailable`, but a bare `send` here would end the test.
    static func control(_ redis: RedisClient, _ command: RedisCommand) async throws -> RESPValue {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            do {
                return try await redis.send(command)
            } catch let error as RedisClientError where [.unavailable, .connectionClosed, .connectTimeout, .commandTimeout].contains(error.code) {
                guard ContinuousClock.now < deadline else { throw error }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

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
                        // The master killed in the round before comes back as a replica and must resync first;
                        // on a loaded machine that takes longer than the second above.
                        let inSync = try await eventually(timeout: .seconds(30)) {
                            (try await Self.control(redis, RedisCommand("INFO", ["replication"])).string ?? "").contains("state=online")
                        }
                        try #require(inSync, "round \(round): the master to kill has no replica in sync after 30 s")
                        let info = try await Self.control(redis, RedisCommand("INFO", ["server"])).string ?? ""
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
                        #expect(recovery < .seconds(10), "round \(round): down-after 1 s + election + 2 s, generously")
                        let newMaster = try #require(now.master)
                        #expect(newMaster != victim)
                        #expect(redis.router.topologyVersion != topology, "the topology version must move so notify-keyspace-events is checked again")
                        let scripts = try await Self.control(redis, RedisCommand("SCRIPT", ["EXISTS", .string(marker.sha1)]))
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
            print("sentinel failover: recoveries \(shown); \(report); transitions under-replicated (WAIT timed out) \(store.underReplicated.count); keyspace gaps \(watcher.gaps); lost \(lost.count); unseen completions \(unseen.count)")
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
/// (at most 60 s) for a steady state: every sentinel names the same master, which has a replica in
/// sync that every sentinel counts as healthy and electable — so the next failover has one. Usually
/// that replica is the restarted server; on a starved machine the sentinels may fail over once more
/// meanwhile (a fresh master missing its pings for `down-after`), and then the roles are the other
/// way round.
///
/// The restarted server comes up with `replica-priority 0` and gets its priority back only once its
/// link to the master is up: it loads the RDB of its last full sync from disk, and Sentinel counts a
/// replica that has never reached its master since it started as fit to promote (Redis 7.0 reports
/// `master_link_down_since_seconds:-1`). A fresh-clone run hit exactly that: a failover "once more"
/// promoted the restarted server with its stale snapshot, and 1,124 replica-acknowledged creates were
/// gone. Operators restarting a crashed master do the same (README, "Redis Sentinel").
private func restartAsReplica(_ server: RedisConfiguration.Endpoint, of master: RedisConfiguration.Endpoint, directory: String) async throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
    process.arguments = ["\(directory)/redis-\(server.port)/redis.conf", "--replicaof", master.host, String(master.port), "--replica-priority", "0"]
    // It logs to its file; it must not hold the test's output open (swift test waits for its end).
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    let sentinels = try #require(try RedisConfiguration(url: TestEnvironment.redisURL).sentinel)
    let short = RedisConfiguration(endpoints: [], connectTimeout: .milliseconds(500), commandTimeout: .seconds(2))
    func ask(_ endpoint: RedisConfiguration.Endpoint, _ arguments: [String]) async throws -> RESPValue {
        let connection = try await RedisConnection.connect(to: endpoint, configuration: short)
        defer { connection.close() }
        return try await connection.send(RedisCommand(arguments[0], arguments.dropFirst().map { .string($0) }))
    }
    let linked = try await eventually(timeout: .seconds(60)) {
        let info = try? await ask(server, ["INFO", "replication"]).string
        return info.map { $0.contains("master_link_status:up") && $0.contains("master_sync_in_progress:0") } ?? false
    }
    try #require(linked, "the restarted \(server) did not sync with a master within 60 s")
    _ = try await ask(server, ["CONFIG", "SET", "replica-priority", "100"])
    var named: Set<String> = []
    let steady = try await eventually(timeout: .seconds(60)) {
        named = []
        var replicaSets: [Set<Int>] = []
        for sentinel in sentinels.endpoints {
            let address = try await ask(sentinel, ["SENTINEL", "get-master-addr-by-name", sentinels.serviceName]).array ?? []
            named.insert(address.compactMap(\.string).joined(separator: ":"))
            let replicas = try await ask(sentinel, ["SENTINEL", "replicas", sentinels.serviceName]).array ?? []
            replicaSets.append(healthyReplicaPorts(replicas))
        }
        guard named.count == 1, let current = named.first, let port = current.split(separator: ":").last.flatMap({ Int($0) }) else { return false }
        let info = try await ask(.init(host: "127.0.0.1", port: port), ["INFO", "replication"]).string ?? ""
        return onlineReplicaPorts(info).contains { port in replicaSets.allSatisfy { $0.contains(port) } }
    }
    try #require(steady, "no steady state after restarting \(server): the sentinels name \(named.sorted())")
    if named != ["\(master)"] { print("sentinel failover: the sentinels failed over once more meanwhile; master now \(named.sorted())") }
}

/// The ports of the replicas in a `SENTINEL replicas` reply that the sentinel counts as healthy and
/// would promote (a priority of 0 it never would).
private func healthyReplicaPorts(_ replicas: [RESPValue]) -> Set<Int> {
    var ports: Set<Int> = []
    for replica in replicas {
        let fields = fieldMap(replica.array ?? [])
        if fields["flags"] == "slave", fields["slave-priority"] != "0", let port = fields["port"].flatMap({ Int($0) }) { ports.insert(port) }
    }
    return ports
}

/// The ports of the replicas a master's `INFO replication` shows online (`slave0:ip=…,port=…,state=online,…`).
private func onlineReplicaPorts(_ info: String) -> [Int] {
    var ports: [Int] = []
    for line in info.split(whereSeparator: \.isNewline) where line.hasPrefix("slave") && line.contains("state=online") {
        if let field = line.split(separator: ",").first(where: { $0.hasPrefix("port=") }), let port = Int(field.dropFirst(5)) {
            ports.append(port)
        }
    }
    return ports
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
        /// Engine errors (not found, stale lease) on a task an earlier transition of which may not
        /// have reached a replica (its WAIT timed out, or it failed unavailable): that transition
        /// may be gone after a failover, which Redis replication allows.
        var afterUnreplicatedWrite = 0
        var description: String {
            "\(created) created, \(completed) completed, \(unavailable) calls unavailable, \(foreignErrors.count) other errors, \(afterUnreplicatedWrite) engine errors after an unreplicated write"
        }
    }

    private struct State {
        var report = Report()
        /// Task → its last acknowledged status.
        var acknowledged: [String: TaskStatus] = [:]
        /// Tasks whose create / complete a replica acknowledged (no WAIT timed out meanwhile).
        var replicatedCreates: Set<String> = []
        var replicatedCompletes: Set<String> = []
        /// Tasks with a transition that may not be on a replica.
        var tainted: Set<String> = []
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
                await attempt(task: nil) { let id = try await store.create(NewTask(commandType: Self.commandType)).id; return (id, .queued) }
            }
            var claimed: ClaimedTask?
            await attempt(task: nil) {
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
            await attempt(task: task.id) { _ = try await store.heartbeat(task.id, Heartbeat(leaseToken: task.leaseToken, progress: 50)); return (task.id, .running) }
            await attempt(task: task.id) { _ = try await store.complete(task.id, leaseToken: task.leaseToken); return (task.id, .completed) }
        }
    }

    /// Runs one transition (on `task`, when known beforehand); records what it acknowledged, and
    /// whether a replica surely has it: no transition's WAIT timed out while it ran (the engine's
    /// public count of under-replicated writes did not move), or its error.
    private func attempt(task: String?, _ call: () async throws -> (String, TaskStatus)?) async {
        let started = ContinuousClock.now
        let timedOutBefore = store.underReplicated.count
        do {
            guard let (id, status) = try await call() else { return }
            let ended = ContinuousClock.now
            let replicated = store.underReplicated.count == timedOutBefore
            state.withLock { state in
                state.writes.append((started, ended))
                state.acknowledged[id] = status
                if !replicated { state.tainted.insert(id) }
                if status == .queued {
                    state.report.created += 1
                    if replicated { state.replicatedCreates.insert(id) }
                }
                if status == .completed {
                    state.report.completed += 1
                    if replicated { state.replicatedCompletes.insert(id) }
                }
            }
        } catch let error as RedisClientError where error.code == .unavailable {
            state.withLock { state in
                state.report.unavailable += 1
                if let task { state.tainted.insert(task) }
            }
        } catch let error as TaskEngineError {
            state.withLock { state in
                if let task, state.tainted.contains(task) {
                    state.report.afterUnreplicatedWrite += 1
                } else {
                    state.report.foreignErrors.append("TaskEngineError: \(error)")
                }
            }
        } catch {
            state.withLock { $0.report.foreignErrors.append("\(type(of: error)): \(error)") }
        }
    }

    /// When the first write that started after `instant` succeeded.
    func firstWrite(after instant: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        state.withLock { state in state.writes.lazy.filter { $0.started > instant }.map(\.ended).min() }
    }

    /// Replica-acknowledged transitions that Redis no longer shows: a task whose create a replica
    /// had is missing, or one whose complete a replica had is not completed.
    func lost() async throws -> [String] {
        let (creates, completes) = state.withLock { ($0.replicatedCreates, $0.replicatedCompletes) }
        var lost: [String] = []
        for id in creates.union(completes) {
            guard let task = try await store.get(id) else {
                lost.append("\(id): gone")
                continue
            }
            if completes.contains(id) && task.status != .completed { lost.append("\(id): \(task.status), a replica had its completion") }
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
