import Foundation
import RESP
import RedisClient
import Synchronization
@testable import TaskEngine
import TestSupport
import Testing

/// What the cluster phase of `./dev test` turns on: these tests change the cluster under them
/// (move slots, kill a master), so they run on their own, after every other suite.
enum ClusterTestPhase {
    static var resharding: Bool { ProcessInfo.processInfo.environment["TASKD_TEST_CLUSTER_RESHARD"] == "1" }
    static var failover: Bool { ProcessInfo.processInfo.environment["TASKD_TEST_CLUSTER_FAILOVER"] == "1" }
}

@Suite(.enabled(if: ClusterTestPhase.resharding, "needs the cluster phase of ./dev test (TASKD_TEST_CLUSTER_RESHARD=1)"))
struct ClusterReshardingTests {
    /// `redis-cli --cluster reshard` moves 2,000 slots between masters while 8 workers run full
    /// lifecycles over 64 shards: no call fails, every task created is completed, and the move
    /// really took some of the test's shards along (else the test proved nothing).
    @Test func reshardWhileTasksRun() async throws {
        try await withStore(shards: 64, clock: SystemClock()) { store in
            let masters = try await store.redis.masters()
            try #require(masters.count >= 2, "needs a cluster with at least two masters")
            let from = try await nodeID(masters[0]), to = try await nodeID(masters[1])
            let before = try owners(store)
            let workload = LifecycleWorkload(store: store)
            try await workload.run {
                try await Task.sleep(for: .milliseconds(500))
                let status = try await redisCLI(["--cluster", "reshard", "\(masters[0].endpoint)", "--cluster-from", from, "--cluster-to", to,
                                                 "--cluster-slots", "2000", "--cluster-yes"])
                #expect(status == 0, "redis-cli --cluster reshard exited with \(status)")
                try await Task.sleep(for: .milliseconds(500))
            }
            let moved = try zip(before, owners(store)).filter { $0 != $1 }.count
            let report = workload.report
            print("resharding: \(moved) of 64 shards moved; \(report)")
            #expect(moved > 0, "no shard of the test lived in the 2,000 slots moved")
            #expect(report.errors.isEmpty, "calls failed during resharding: \(report.errors.prefix(5))")
            #expect(report.completed == report.created && report.created > 0, "created \(report.created), completed \(report.completed)")
            #expect(try await workload.missing().isEmpty, "tasks lost")
        }
    }
}

@Suite(.enabled(if: ClusterTestPhase.failover, "needs the cluster phase of ./dev test (TASKD_TEST_CLUSTER_FAILOVER=1)"))
struct ClusterFailoverTests {
    /// A master (with a replica) is shut down while 8 workers run lifecycles, every transition
    /// acknowledged by one replica (`WAIT 1`). The replica takes over after the node timeout; the
    /// client finds it by itself. Calls in flight on the dead master's connections fail (they may
    /// have run, so they are not repeated); nothing acknowledged is lost.
    @Test func masterKilledReplicaPromoted() async throws {
        // Once its replica is promoted the new master has no replica of its own: every WAIT there
        // runs to its timeout, which is kept short so the test is too.
        let ack = TaskEngineConfiguration.ReplicaAcknowledgement(replicas: 1, timeout: .milliseconds(50))
        try await withStore(shards: 16, clock: SystemClock(), configure: { $0.replicaAcknowledgement = ack }) { store in
            let shardSlot = HashSlot.of(store.keyspace.shard(0).events)
            let victim = try store.redis.router.node(forSlot: shardSlot)
            let replication = try await victim.pool.send(RedisCommand("INFO", ["replication"])).string ?? ""
            try #require(replication.contains("state=online"), "the master to kill has no replica in sync")
            // The server's process (./dev test started it): killed with SIGKILL below.
            let info = try await victim.pool.send(RedisCommand("INFO", ["server"])).string ?? ""
            let victimPID = try #require(info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("process_id:") }.flatMap { Int32($0.dropFirst("process_id:".count)) })
            let victimSlots = try (0..<store.keyspace.shardCount).filter {
                try store.redis.router.node(forSlot: HashSlot.of(store.keyspace.shard($0).events)) === victim
            }
            let workload = LifecycleWorkload(store: store)
            let killedAt = Mutex<ContinuousClock.Instant?>(nil)
            try await workload.run {
                try await Task.sleep(for: .seconds(1))
                // A crash, not a SHUTDOWN (which waits for the replicas to catch up first).
                kill(pid_t(victimPID), SIGKILL)
                killedAt.withLock { $0 = .now }
                // Until a transition on one of the dead master's shards succeeds again, and 2 s more.
                let recovered = try await eventually(timeout: .seconds(30)) {
                    workload.lastSuccess(inShards: Set(victimSlots)).map { $0 > killedAt.withLock { $0! } } ?? false
                }
                #expect(recovered, "no transition on the dead master's shards succeeded within 30 s")
                try await Task.sleep(for: .seconds(2))
            }
            let killed = try #require(killedAt.withLock { $0 })
            // The first transition started after the kill that succeeded on one of the dead master's shards.
            let recovery = workload.firstSuccess(inShards: Set(victimSlots), after: killed).map { $0 - killed }
            let report = workload.report
            let missing = try await workload.missing()
            print("failover: recovered in \(recovery.map { "\($0.components.seconds * 1000 + $0.components.attoseconds / 1_000_000_000_000_000) ms" } ?? "—"); \(report); under-replicated \(store.underReplicated.count); lost \(missing.count)")
            #expect(try #require(recovery) < .seconds(12), "node timeout 2 s + election + slot map refresh")
            #expect(missing.isEmpty, "acknowledged tasks lost: \(missing.prefix(5))")
            #expect(try store.redis.router.node(forSlot: shardSlot) !== victim)
        }
    }
}

/// Workers that loop create → claim → heartbeat → complete until told to stop, then claim and
/// complete whatever is left, keeping count of what succeeded, what failed, and when.
final class LifecycleWorkload: Sendable {
    struct Report: Sendable, CustomStringConvertible {
        var created = 0
        var completed = 0
        var errors: [String] = []
        var description: String { "\(created) created, \(completed) completed, \(errors.count) calls failed" }
    }

    private struct State {
        var report = Report()
        var createdIDs: [String] = []
        /// Shard → (start, end) of successful calls, for recovery timing.
        var successes: [Int: [(started: ContinuousClock.Instant, ended: ContinuousClock.Instant)]] = [:]
    }

    let store: TaskStore
    private let state = Mutex(State())
    private let stopping = Mutex(false)
    static let workers = 8
    static let commandType = "cluster-workload"

    init(store: TaskStore) { self.store = store }

    var report: Report { state.withLock { $0.report } }

    /// Runs the workers while `during` runs, then stops and drains them (at most 60 s).
    func run(during: @Sendable () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<Self.workers {
                group.addTask { await self.work(worker: worker) }
            }
            do {
                try await during()
            } catch {
                stopping.withLock { $0 = true }
                throw error
            }
            stopping.withLock { $0 = true }
            try await group.waitForAll()
        }
    }

    private func work(worker: Int) async {
        let deadline = ContinuousClock.now + .seconds(90)
        var idle = 0
        while ContinuousClock.now < deadline {
            let stop = stopping.withLock { $0 }
            if !stop {
                await attempt { let id = try await store.create(NewTask(commandType: Self.commandType)).id; note(created: id); return id }
            }
            var claimed: ClaimedTask?
            await attempt { claimed = try await store.claim(workerId: "w\(worker)", commandTypes: [Self.commandType]); return claimed?.id }
            guard let task = claimed else {
                idle += 1
                if stop && idle > 3 { return }
                try? await Task.sleep(for: .milliseconds(20))
                continue
            }
            idle = 0
            await attempt { _ = try await store.heartbeat(task.id, Heartbeat(leaseToken: task.leaseToken, progress: 50)); return task.id }
            if await attempt({ _ = try await store.complete(task.id, leaseToken: task.leaseToken); return task.id }) {
                state.withLock { $0.report.completed += 1 }
            }
        }
    }

    private func note(created id: String) {
        state.withLock { state in
            state.report.created += 1
            state.createdIDs.append(id)
        }
    }

    /// Runs one call; records its success (by the task's shard, when it started and ended) or its error.
    @discardableResult
    private func attempt(_ call: () async throws -> String?) async -> Bool {
        let started = ContinuousClock.now
        do {
            let id = try await call()
            if let id, let shard = TaskID.shard(of: id) {
                let ended = ContinuousClock.now
                state.withLock { $0.successes[shard, default: []].append((started, ended)) }
            }
            return true
        } catch {
            state.withLock { $0.report.errors.append("\(error)") }
            return false
        }
    }

    /// When the last successful call in `shards` started.
    func lastSuccess(inShards shards: Set<Int>) -> ContinuousClock.Instant? {
        state.withLock { state in shards.compactMap { state.successes[$0]?.last?.started }.max() }
    }

    /// When the first call in `shards` that started after `instant` succeeded (it may have waited
    /// inside the client, retrying, until the cluster had a master for its slot again).
    func firstSuccess(inShards shards: Set<Int>, after instant: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        state.withLock { state in
            shards.flatMap { state.successes[$0] ?? [] }.filter { $0.started > instant }.map(\.ended).min()
        }
    }

    /// Tasks whose create was acknowledged but that Redis no longer has.
    func missing() async throws -> [String] {
        let ids = state.withLock { $0.createdIDs }
        var missing: [String] = []
        for batch in stride(from: 0, to: ids.count, by: 200).map({ Array(ids[$0..<min($0 + 200, ids.count)]) }) {
            let found = try await store.tasksById(batch)
            missing += batch.filter { found[$0] == nil }
        }
        return missing
    }
}

/// The master of each shard's slot, by endpoint, as the client's slot map has it now.
private func owners(_ store: TaskStore) throws -> [RedisConfiguration.Endpoint] {
    try store.keyspace.shards.map { try store.redis.router.node(forSlot: HashSlot.of($0.events)).endpoint }
}

private func nodeID(_ node: RedisNode) async throws -> String {
    try #require(try await node.pool.send(RedisCommand("CLUSTER", ["MYID"])).string)
}

/// Runs redis-cli with `arguments`, its output in the test state directory; returns its exit status.
private func redisCLI(_ arguments: [String]) async throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-cli")
    let tls = TestEnvironment.redisURL.hasPrefix("rediss://") ? ["--tls", "--cacert", try #require(TestEnvironment.testCA)] : []
    process.arguments = tls + arguments
    let log = TestEnvironment.stateDirectory + "/redis-cli-\(UUID().uuidString.prefix(8)).log"
    _ = FileManager.default.createFile(atPath: log, contents: nil)
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
    process.standardOutput = handle
    process.standardError = handle
    try process.run()
    // Polled rather than waitUntilExit, which would hold a thread of the test pool (bounded: 5 min).
    let deadline = ContinuousClock.now + .seconds(300)
    while process.isRunning && ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(50))
    }
    if process.isRunning { process.terminate() }
    try handle.close()
    return process.isRunning ? -1 : process.terminationStatus
}
