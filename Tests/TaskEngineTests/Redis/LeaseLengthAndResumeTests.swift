import TaskEngine
import TestSupport
import Testing

/// A lease keeps the length it was claimed with until a call names another (DESIGN.md §4.2), and a
/// retried attempt gets the ops in their order and what the last attempt reported for each.
@Suite(.tags(.redis)) struct LeaseLengthAndResumeTests {
    /// Claim with 2 s, heartbeat once without a length, stop: impacted after 2 s, re-queued after
    /// the grace (one more lease), not after the configured default of 30 s.
    @Test func heartbeatKeepsTheClaimedLease() async throws {
        let clock = PinnedClock()
        try await withStore(clock: clock, configure: { $0.leaseDuration = .seconds(30) }) { store in
            let created = try await store.create(NewTask(commandType: "short", maxAttempts: 2))
            let claimed = try #require(try await store.claim(workerId: "w", commandTypes: ["short"], lease: .seconds(2)))
            #expect(claimed.lease == .seconds(2))
            clock.advance(by: .milliseconds(500))
            let beat = try await store.heartbeat(created.id, Heartbeat(leaseToken: claimed.leaseToken, progress: 10))
            #expect(beat.leaseExpiresAt == clock.now() + 2000, "renewed by the claimed 2 s")

            clock.advance(by: .milliseconds(2100))
            #expect(try await store.reapLeases().impacted == 1)
            #expect(try await store.get(created.id)?.status == .impacted, "impacted within 3 s of the heartbeat")
            clock.advance(by: .milliseconds(2100))
            #expect(try await store.reapLeases().requeued == 1)
            let requeued = try #require(try await store.get(created.id))
            #expect(requeued.status == .queued, "re-queued within 5 s of the heartbeat")
            #expect(requeued.attempt == 1)
        }
    }

    /// A heartbeat that names a length keeps it for the heartbeats after it.
    @Test func aNamedLeaseLengthSticks() async throws {
        let clock = PinnedClock()
        try await withStore(clock: clock) { store in
            let created = try await store.create(NewTask(commandType: "sticky"))
            let claimed = try #require(try await store.claim(workerId: "w", commandTypes: ["sticky"], lease: .seconds(2)))
            let longer = try await store.heartbeat(created.id, Heartbeat(leaseToken: claimed.leaseToken, lease: .seconds(90)))
            #expect(longer.leaseExpiresAt == clock.now() + 90_000)
            clock.advance(by: .seconds(10))
            let next = try await store.heartbeat(created.id, Heartbeat(leaseToken: claimed.leaseToken, progress: 20))
            #expect(next.leaseExpiresAt == clock.now() + 90_000)
        }
    }

    /// The claim answers the op ids in create order; a retried attempt also gets the op states the
    /// failed attempt reported (as stored, stamped), in that order, so it can resume.
    @Test func claimReturnsOpsInOrderAndTheLastAttemptsStates() async throws {
        let clock = PinnedClock()
        try await withStore(clock: clock, configure: { $0.retryBackoffBase = .milliseconds(1) }) { store in
            let created = try await store.create(NewTask(commandType: "resume", ops: ["shard-3", "shard-1", "shard-2"], maxAttempts: 2))
            let first = try #require(try await store.claim(workerId: "w1", commandTypes: ["resume"]))
            #expect(first.ops == ["shard-3", "shard-1", "shard-2"])
            #expect(first.opStates.isEmpty, "nothing to resume on a first attempt")

            _ = try await store.heartbeat(created.id, Heartbeat(leaseToken: first.leaseToken, ops: [
                TaskOp(id: "shard-1", json: #"{"progress":100,"snapshot":{"copied":10}}"#),
                TaskOp(id: "shard-3", json: #"{"progress":40,"snapshot":{"copied":4}}"#),
            ]))
            let retry = try await store.fail(created.id, leaseToken: first.leaseToken, errorCode: "net", errorMessage: "lost the node")
            #expect(retry.status == .queued)
            clock.advance(by: .seconds(1))
            _ = try await store.promoteDelayed()

            let second = try #require(try await store.claim(workerId: "w2", commandTypes: ["resume"]))
            #expect(second.attempt == 2)
            #expect(second.ops == ["shard-3", "shard-1", "shard-2"])
            let seconds = (clock.now() - 1000) / 1000
            #expect(second.opStates == [
                TaskOp(id: "shard-3", json: #"{"progress":40,"snapshot":{"copied":4},"heartbeat":\#(seconds),"last_sample_time":\#(seconds)}"#),
                TaskOp(id: "shard-1", json: #"{"progress":100,"snapshot":{"copied":10},"heartbeat":\#(seconds),"last_sample_time":\#(seconds)}"#),
                TaskOp(id: "shard-2", json: "{}"),
            ])
        }
    }
}
