import RESP
import RedisClient
@testable import TaskEngine
import TestSupport
import Testing

/// Tasks at and past the op limit (issue 13, finding 2): a task grew 1,024 ops per heartbeat until a
/// claim failed inside its script after taking the task off its queue. Now a task has at most
/// `TaskLimits.opsCount.upperBound` ops, a refusal writes nothing, and a claim reads any number of
/// ops in batches.
@Suite(.tags(.redis)) struct OversizedTaskTests {
    static let cap = TaskLimits.opsCount.upperBound

    @Test func aHeartbeatThatWouldPassTheOpLimitChangesNothing() async throws {
        try await withStore { store in
            let created = try await store.create(NewTask(commandType: "oversized", ops: (1...1000).map { "op\($0)" }))
            let claimed = try #require(try await store.claim(workerId: "w", commandTypes: ["oversized"]))
            let before = try await keyspaceDigest(store)
            let tooMany = (1...25).map { TaskOp(id: "new\($0)", json: "{}") }
            let error = await #expect(throws: TaskEngineError.self) {
                try await store.heartbeat(created.id, Heartbeat(leaseToken: claimed.leaseToken, progress: 10, ops: tooMany))
            }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains("1025 ops") == true, "\(error?.message ?? "")")
            #expect(try await keyspaceDigest(store) == before, "the refused heartbeat wrote something")

            // Up to the limit is accepted; one more is not, however it is spread over calls.
            _ = try await store.heartbeat(created.id, Heartbeat(leaseToken: claimed.leaseToken, ops: Array(tooMany.prefix(24))))
            #expect(try await store.get(created.id)?.ops.count == Self.cap)
            let full = try await keyspaceDigest(store)
            await #expect(throws: TaskEngineError.self) {
                try await store.heartbeat(created.id, Heartbeat(leaseToken: claimed.leaseToken, ops: [TaskOp(id: "one-more", json: "{}")]))
            }
            #expect(try await keyspaceDigest(store) == full, "the refused heartbeat wrote something")
            // Reporting on ops it has is still fine at the limit.
            let result = try await store.heartbeat(created.id, Heartbeat(leaseToken: claimed.leaseToken, ops: [TaskOp(id: "op1", json: #"{"progress":50}"#)]))
            #expect(result.status == .running)
        }
    }

    @Test func aCreateWithMoreOpsThanTheLimitIsRefusedBeforeRedis() async throws {
        try await withStore { store in
            let error = await #expect(throws: TaskEngineError.self) {
                try await store.create(NewTask(commandType: "oversized", ops: (0...Self.cap).map { "op\($0)" }))
            }
            #expect(error?.code == .invalidArgument)
            let keys = try await keyspaceDigest(store)
            #expect(keys.isEmpty)
        }
    }

    /// The reported case: a full task whose ops carry large snapshots fails retryably, and its next
    /// claim hands the new attempt every op's previous state.
    @Test func aFullTaskWithLargeOpsIsClaimedAgainAfterARetryableFailure() async throws {
        let clock = PinnedClock()
        try await withStore(clock: clock, configure: { $0.retryBackoffBase = .seconds(1); $0.retryBackoffMax = .seconds(1) }) { store in
            let ids = (1...Self.cap).map { "op\($0)" }
            let created = try await store.create(NewTask(commandType: "oversized", ops: ids, maxAttempts: 3))
            let first = try #require(try await store.claim(workerId: "w", commandTypes: ["oversized"]))
            let snapshot = String(repeating: "x", count: 1200)
            let ops = ids.map { TaskOp(id: $0, json: #"{"progress":100,"snapshot":""# + snapshot + #""}"#) }
            _ = try await store.heartbeat(created.id, Heartbeat(leaseToken: first.leaseToken, ops: ops))
            _ = try await store.fail(created.id, leaseToken: first.leaseToken, errorCode: "flaky", errorMessage: nil, retryable: true)
            clock.advance(by: .seconds(2))

            let second = try #require(try await store.claim(workerId: "w", commandTypes: ["oversized"]))
            #expect(second.id == created.id)
            #expect(second.attempt == 2)
            #expect(second.opStates.map(\.id) == ids)
            #expect(second.opStates.allSatisfy { $0.json.contains(snapshot) })
            #expect(try await store.get(created.id)?.status == .starting)
        }
    }

    /// A hash written before the limit existed (here 9,001 ops, written directly) is still claimed
    /// whole: the claim reads its ops in batches and never unpacks the list.
    @Test func aTaskPastTheLimitFromBeforeItIsStillClaimedWhole() async throws {
        let clock = PinnedClock()
        try await withStore(clock: clock, configure: { $0.retryBackoffBase = .seconds(1); $0.retryBackoffMax = .seconds(1) }) { store in
            let created = try await store.create(NewTask(commandType: "legacy", ops: ["op1"], maxAttempts: 3))
            let first = try #require(try await store.claim(workerId: "w", commandTypes: ["legacy"]))
            let key = try #require(store.keyspace.shard(ofTask: created.id)).task(created.id)
            let ids = (1...9001).map { "op\($0)" }
            var fields: [RESPArgument] = [.string(key), .string("opIds"), .string(ids.joined(separator: " "))]
            for id in ids { fields += [.string("op:" + id), .string(#"{"progress":1}"#)] }
            _ = try await store.redis.send(RedisCommand("HSET", fields, keys: [key]))
            _ = try await store.fail(created.id, leaseToken: first.leaseToken, errorCode: "flaky", errorMessage: nil, retryable: true)
            clock.advance(by: .seconds(2))

            let second = try #require(try await store.claim(workerId: "w", commandTypes: ["legacy"]))
            #expect(second.attempt == 2)
            #expect(second.opStates.count == 9001)
            #expect(second.opStates.last?.id == "op9001")
        }
    }
}
