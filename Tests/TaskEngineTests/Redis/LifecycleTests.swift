import RedisClient
import TaskEngine
import TestSupport
import Testing

@Suite(.tags(.redis)) struct LifecycleTests {
    @Test func createClaimHeartbeatComplete() async throws {
        let clock = PinnedClock()
        try await withStore(clock: clock) { store in
            let created = try await store.create(NewTask(commandType: "backup", description: "nightly", params: #"{"bdb":1}"#, objectName: "bdb:1", ops: ["1", "2"]))
            #expect(!created.replayed)
            #expect(created.task?.status == .queued)
            let stored = try #require(try await store.get(created.id))
            #expect(stored == created.task)

            let claimed = try #require(try await store.claim(workerId: "w1", commandTypes: ["backup"]))
            #expect(claimed.id == created.id)
            #expect(claimed.attempt == 1)
            #expect(claimed.params == #"{"bdb":1}"#)

            clock.advance(by: .seconds(1))
            let beat = try await store.heartbeat(created.id, Heartbeat(leaseToken: claimed.leaseToken, progress: 12.5, state: "copying",
                                                                       ops: [TaskOp(id: "1", json: #"{"progress":50}"#)]))
            #expect(beat.status == .running)
            #expect(!beat.cancelRequested)

            let done = try await store.complete(created.id, leaseToken: claimed.leaseToken, response: #"{"resourceId":1}"#)
            #expect(!done.cancelRequested)
            let finished = try #require(try await store.get(created.id))
            #expect(finished.status == .completed)
            #expect(finished.progress == 100)
            // heartbeat-5 stamps the report's time (seconds, as Redis Software's pending_ops) on every op.
            let seconds = clock.now() / 1000
            #expect(finished.ops.first == TaskOp(id: "1", json: #"{"progress":50,"heartbeat":\#(seconds),"last_sample_time":\#(seconds)}"#))
            #expect(finished.response == #"{"resourceId":1}"#)
            #expect(finished.version == done.version)

            let page = try await store.list(TaskQuery(objectName: "bdb:1"))
            #expect(page.tasks.map(\.id) == [created.id])
        }
    }

    @Test func claimWaitsForATaskWithoutPolling() async throws {
        try await withStore(clock: SystemClock()) { store in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for service in store.services { group.addTask { try await service.run() } }
                async let claimed = store.claim(workerId: "w", commandTypes: ["later"], wait: .seconds(10))
                try await Task.sleep(for: .milliseconds(200))
                let created = try await store.create(NewTask(commandType: "later"))
                #expect(try await claimed?.id == created.id)
                group.cancelAll()
            }
        }
    }
}
