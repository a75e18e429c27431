import RESP
import RedisClient
import TaskEngine
import TestSupport
import Testing

/// Races between replicas, fencing, lease expiry, retries with backoff and `worker_lost`.
@Suite(.tags(.redis)) struct RaceAndLeaseTests {
    /// 1,000 claimed tasks, each with cancel and complete fired at once from two different
    /// connections (two stores on two clients): exactly one outcome per task, the loser told why.
    @Test func cancelRacesComplete() async throws {
        let prefix = TestEnvironment.uniquePrefix()
        try await withStore(clock: SystemClock(), prefix: prefix) { operatorSide in
            try await withStore(clock: SystemClock(), prefix: prefix) { workerSide in
                var leases: [(String, String)] = []
                for _ in 0..<1000 {
                    let id = try await operatorSide.create(NewTask(commandType: "race")).id
                    let claim = try #require(try await workerSide.claim(workerId: "w", commandTypes: ["race"]))
                    #expect(claim.id == id)
                    leases.append((id, claim.leaseToken))
                }
                let outcomes = try await withThrowingTaskGroup(of: (String, String).self) { group in
                    for (id, token) in leases {
                        group.addTask {
                            async let cancel: String = {
                                do { return "cancel:" + (try await operatorSide.cancel(id, force: true)).status.rawValue } catch let e as TaskEngineError { return "cancel-refused:\(e.code)" }
                            }()
                            async let complete: String = {
                                do { _ = try await workerSide.complete(id, leaseToken: token); return "complete:ok" } catch let e as TaskEngineError { return "complete-refused:\(e.code)" }
                            }()
                            return (try await cancel, try await complete)
                        }
                    }
                    var all: [(String, String)] = []
                    for try await outcome in group { all.append(outcome) }
                    return all
                }
                #expect(outcomes.count == 1000)
                for (cancel, complete) in outcomes {
                    let cancelWon = cancel == "cancel:cancelled" && complete == "complete-refused:staleLease"
                    let completeWon = complete == "complete:ok" && cancel == "cancel-refused:wrongStatus"
                    #expect(cancelWon != completeWon, "exactly one winner: \(cancel) / \(complete)")
                }
                for (id, _) in leases {
                    let status = try #require(try await operatorSide.get(id)).status
                    #expect(status == .cancelled || status == .completed)
                }
            }
        }
    }

    /// Two workers claiming the same queue of 500 tasks: every task claimed exactly once.
    @Test func twoWorkersNeverClaimTheSameTask() async throws {
        let prefix = TestEnvironment.uniquePrefix()
        try await withStore(clock: SystemClock(), prefix: prefix) { a in
            try await withStore(clock: SystemClock(), prefix: prefix) { b in
                var created: Set<String> = []
                for _ in 0..<500 { created.insert(try await a.create(NewTask(commandType: "shared")).id) }
                let claimed = try await withThrowingTaskGroup(of: [String].self) { group in
                    for (store, name) in [(a, "a"), (b, "b")] {
                        for worker in 0..<5 {
                            group.addTask {
                                var mine: [String] = []
                                while let task = try await store.claim(workerId: "\(name)\(worker)", commandTypes: ["shared"]) { mine.append(task.id) }
                                return mine
                            }
                        }
                    }
                    var all: [String] = []
                    for try await ids in group { all += ids }
                    return all
                }
                #expect(claimed.count == 500)
                #expect(Set(claimed) == created)
            }
        }
    }

    /// A stale token changes nothing; an overdue lease makes the task impacted, a heartbeat brings it
    /// back; a lost lease re-queues with backoff (old token fenced), then fails with worker_lost.
    @Test func fencingExpiryRetriesAndWorkerLost() async throws {
        let clock = PinnedClock()
        try await withStore(clock: clock, configure: { $0.leaseDuration = .seconds(10); $0.retryBackoffBase = .seconds(2) }) { store in
            let id = try await store.create(NewTask(commandType: "lease", maxAttempts: 2)).id
            let first = try #require(try await store.claim(workerId: "w1", commandTypes: ["lease"]))
            await #expect(throws: TaskEngineError.self) { try await store.heartbeat(id, Heartbeat(leaseToken: "forged")) }

            clock.advance(by: .seconds(11))
            #expect(try await store.reapLeases().impacted == 1)
            #expect(try await store.get(id)?.status == .impacted)
            #expect(try await store.heartbeat(id, Heartbeat(leaseToken: first.leaseToken, cancellable: false)).status == .running)

            // Lease (10 s) and grace (one lease) both pass: re-queued for attempt 2 after 2 s of backoff.
            clock.advance(by: .seconds(11))
            #expect(try await store.reapLeases().impacted == 1)
            clock.advance(by: .seconds(10))
            #expect(try await store.reapLeases().requeued == 1)
            let requeued = try #require(try await store.get(id))
            #expect(requeued.status == .queued)
            let staleBeat = await #expect(throws: TaskEngineError.self) { try await store.heartbeat(id, Heartbeat(leaseToken: first.leaseToken)) }
            #expect(staleBeat?.code == .staleLease)
            #expect(try await store.claim(workerId: "w2", commandTypes: ["lease"]) == nil, "not before the backoff")
            clock.advance(by: .seconds(2))
            let second = try #require(try await store.claim(workerId: "w2", commandTypes: ["lease"]))
            #expect(second.attempt == 2)
            #expect(try await store.get(id)?.cancellable == true, "a new attempt starts outside any commit phase")

            // The last attempt's lease is lost too: failed, worker_lost.
            clock.advance(by: .seconds(11))
            _ = try await store.reapLeases()
            clock.advance(by: .seconds(10))
            #expect(try await store.reapLeases().failed == 1)
            let lost = try #require(try await store.get(id))
            #expect(lost.status == .failed)
            #expect(lost.errorCode == "worker_lost")
        }
    }

    /// A cancelling task whose worker vanished ends cancelled, never retried; the commit phase
    /// refuses a plain cancel, and force fences the worker.
    @Test func cancelledIsNeverRetriedAndForceFences() async throws {
        let clock = PinnedClock()
        try await withStore(clock: clock, configure: { $0.leaseDuration = .seconds(10) }) { store in
            let id = try await store.create(NewTask(commandType: "c", maxAttempts: 5)).id
            _ = try #require(try await store.claim(workerId: "w", commandTypes: ["c"]))
            #expect(try await store.cancel(id).status == .cancelling)
            clock.advance(by: .seconds(21))
            _ = try await store.reapLeases()
            #expect(try await store.get(id)?.status == .cancelled)

            let committed = try await store.create(NewTask(commandType: "c")).id
            let lease = try #require(try await store.claim(workerId: "w", commandTypes: ["c"]))
            _ = try await store.heartbeat(committed, Heartbeat(leaseToken: lease.leaseToken, cancellable: false))
            let refusal = await #expect(throws: TaskEngineError.self) { try await store.cancel(committed) }
            #expect(refusal?.code == .notCancellable)
            #expect(try await store.cancel(committed, force: true).status == .cancelled)
            let fenced = await #expect(throws: TaskEngineError.self) { try await store.heartbeat(committed, Heartbeat(leaseToken: lease.leaseToken)) }
            #expect(fenced?.code == .staleLease)
        }
    }
}
