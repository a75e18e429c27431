import Foundation
import TaskEngine
import TestSupport
import Testing

/// Worker processes killed, frozen and stopped while they hold tasks: the fencing lease and the
/// release transition keep every task's history legal (DESIGN.md §2) and every completion single.
/// The test process runs the engine's background services, as a taskd replica would.
@Suite(.tags(.processes), .serialized) struct WorkerCrashTests {
    static let lease = 2

    /// Demo-worker settings: backups only, no simulated failures.
    static func settings(lease: Int = lease, concurrency: Int, stepMs: Int, grace: Double = 10) -> [String: String] {
        [
            "TASKD_DEMO_COMMAND_TYPES": "backup", "TASKD_DEMO_FAILURE_RATE": "0", "TASKD_DEMO_STEP_MS": String(stepMs),
            "TASKD_LEASE_SECONDS": String(lease), "TASKD_DEMO_CONCURRENCY": String(concurrency),
            "TASKD_WORKER_GRACE_SECONDS": String(grace),
        ]
    }

    /// Creates backups of `shards` ops each.
    static func createBackups(_ store: TaskStore, count: Int, shards: Int, maxAttempts: Int = 3) async throws -> [String] {
        var ids: [String] = []
        for n in 0..<count {
            let created = try await store.create(NewTask(commandType: "backup", objectName: "bdb:\(n)", ops: (1...shards).map(String.init), maxAttempts: maxAttempts))
            ids.append(created.id)
        }
        return ids
    }

    static func all(_ store: TaskStore, _ ids: [String], _ condition: (TaskRecord) -> Bool) async throws -> Bool {
        let tasks = try await store.get(ids)
        return tasks.count == ids.count && tasks.allSatisfy(condition)
    }

    static func completions(_ store: TaskStore, _ id: String) async throws -> Int {
        try await store.history(id).filter { $0.status == .completed }.count
    }

    /// `kill -9` mid-task: each task is re-queued within lease + 2 s, its attempt rises by exactly one,
    /// another worker completes it, nothing completes twice.
    @Test func killedWorkersTasksAreRequeuedAndCompletedOnce() async throws {
        let prefix = TestEnvironment.uniquePrefix()
        try await withRunningStore(prefix: prefix, configure: { $0.leaseGrace = .milliseconds(200) }) { store in
            let ids = try await Self.createBackups(store, count: 6, shards: 4)
            let first = try DemoWorkerProcess(prefix: prefix, settings: Self.settings(concurrency: 6, stepMs: 200))
            defer { first.stopNow() }
            #expect(try await eventually(timeout: .seconds(20)) { try await Self.all(store, ids) { $0.status == .running } }, "worker 1 runs all six")
            let killedAt = milliseconds()
            first.signal(SIGKILL)
            let second = try DemoWorkerProcess(prefix: prefix, settings: Self.settings(concurrency: 6, stepMs: 50))
            defer { second.stopNow() }
            #expect(try await eventually(timeout: .seconds(60)) { try await Self.all(store, ids) { $0.status.isFinished } }, "every task ends")
            for id in ids {
                let task = try #require(try await store.get(id))
                #expect(task.status == .completed)
                #expect(task.attempt == 2, "one kill, one more attempt: \(task.attempt)")
                #expect(try await Self.completions(store, id) == 1)
                let requeued = try #require(try await store.history(id).first { $0.status == .queued && $0.extras["reason"] == "lease-lost" })
                let after = requeued.writtenAt - killedAt
                print("task re-queued \(after) ms after the kill (lease \(Self.lease) s)")
                // lease + 2 s on a quiet machine; room for a loaded one (the reaper runs every second).
                #expect(after <= Int64(Self.lease) * 1000 + 2000 + 3000, "re-queued \(after) ms after the kill; the lease is \(Self.lease) s")
            }
        }
    }

    /// `SIGSTOP` past the lease, then `SIGCONT`: another worker completes every task; whatever the
    /// resumed worker then tries for them is refused and changes nothing.
    @Test func frozenWorkerWritesNothingAfterItsLeaseIsGone() async throws {
        let prefix = TestEnvironment.uniquePrefix()
        try await withRunningStore(prefix: prefix, configure: { $0.leaseGrace = .milliseconds(200) }) { store in
            let ids = try await Self.createBackups(store, count: 4, shards: 4)
            let frozen = try DemoWorkerProcess(prefix: prefix, settings: Self.settings(concurrency: 4, stepMs: 300))
            defer { frozen.stopNow() }
            #expect(try await eventually(timeout: .seconds(20)) { try await Self.all(store, ids) { $0.status == .running && $0.progress > 0 } })
            frozen.signal(SIGSTOP)
            let other = try DemoWorkerProcess(prefix: prefix, settings: Self.settings(concurrency: 4, stepMs: 30))
            defer { other.stopNow() }
            #expect(try await eventually(timeout: .seconds(30)) { try await Self.all(store, ids) { $0.status == .completed } })
            let before = try await store.get(ids).map(\.version)
            frozen.signal(SIGCONT)
            // The resumed worker's next heartbeats and reports meet fenced tokens: it stops its handlers.
            #expect(try await eventually(timeout: .seconds(10)) { frozen.log.contains("lease lost") }, "the resumed worker noticed")
            try await Task.sleep(for: .seconds(1))
            #expect(try await store.get(ids).map(\.version) == before, "the resumed worker changed nothing")
            for id in ids {
                #expect(try await Self.completions(store, id) == 1)
                #expect(try await store.get(id)?.attempt == 2)
            }
        }
    }

    /// `SIGTERM` with 20 tasks in flight: the short ones finish within the grace period; the long ones
    /// are handed back at its end, with no attempt spent, and another worker claims each within 1 s,
    /// long before their 30 s lease would have run out.
    @Test func sigtermReleasesWhatCannotFinishInTheGracePeriod() async throws {
        let prefix = TestEnvironment.uniquePrefix()
        try await withRunningStore(prefix: prefix) { store in
            let short = try await Self.createBackups(store, count: 10, shards: 1)
            let long = try await Self.createBackups(store, count: 10, shards: 8)
            let ids = short + long
            let stopping = try DemoWorkerProcess(prefix: prefix, settings: Self.settings(lease: 30, concurrency: 20, stepMs: 150, grace: 2.5))
            defer { stopping.stopNow() }
            #expect(try await eventually(timeout: .seconds(20)) { try await Self.all(store, ids) { $0.status == .running } }, "20 in flight")
            // Not faster: at 5 ms a step, 20 tasks sent 8,000 reports/s and starved the parallel test run.
            let next = try DemoWorkerProcess(prefix: prefix, settings: Self.settings(lease: 30, concurrency: 20, stepMs: 100))
            defer { next.stopNow() }
            let firstWorker = try #require(try await store.get(ids[0])?.workerId)
            stopping.signal(SIGTERM)
            #expect(await stopping.waitForExit(timeout: .seconds(10)), "the worker exits after its grace period")
            #expect(try await eventually(timeout: .seconds(45)) { try await Self.all(store, ids) { $0.status == .completed } })
            for id in short {
                let task = try #require(try await store.get(id))
                #expect(task.workerId == firstWorker, "a short task finished within the grace period")
                #expect(task.attempt == 1)
            }
            for id in long {
                let task = try #require(try await store.get(id))
                #expect(task.attempt == 1, "released, not failed: no attempt spent")
                #expect(task.workerId != firstWorker)
                let history = try await store.history(id)
                let released = try #require(history.first { $0.extras["reason"] == "release" })
                let reclaimed = try #require(history.last { $0.kind == "claimed" })
                // Within 1 s on a quiet machine (the figure is printed); the bound leaves room for a loaded one.
                let gap = reclaimed.writtenAt - released.writtenAt
                print("released task re-claimed \(gap) ms after its release")
                #expect(gap <= 1000 + 3000, "re-claimed \(gap) ms after the release")
                #expect(try await Self.completions(store, id) == 1)
            }
        }
    }
}
