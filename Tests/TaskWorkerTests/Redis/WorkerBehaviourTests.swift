import Foundation
import TaskEngine
import TaskWorker
import TestSupport
import Testing

/// The worker library's promises, in process against the real Redis.
@Suite(.tags(.redis)) struct WorkerBehaviourTests {
    /// Lease 3 s, so a heartbeat every second: a cancel reaches the handler as Task cancellation
    /// within one interval, and the worker acknowledges it when the handler returns.
    @Test func cancelReachesTheHandlerWithinOneHeartbeat() async throws {
        try await withRunningStore { store in
            let started = Box<Bool>(false)
            let cancelledAt = Box<Int64?>(nil)
            let configuration = TaskWorkerConfiguration(commandTypes: ["slow"], concurrency: 1, lease: .seconds(3))
            try await withWorker(store, configuration, handler: { _ in
                started.set(true)
                do {
                    try await Task.sleep(for: .seconds(60))
                } catch {
                    cancelledAt.set(milliseconds())
                    throw error
                }
                return nil
            }) { _ in
                let created = try await store.create(NewTask(commandType: "slow"))
                #expect(try await eventually { started.current })
                let asked = milliseconds()
                #expect(try await store.cancel(created.id).status == .cancelling)
                #expect(try await eventually(timeout: .seconds(10)) { cancelledAt.current != nil })
                // One interval (1 s), and room for a loaded machine: the parallel test run can hold a
                // ready task for seconds. The figure itself is printed for the log.
                let delay = (cancelledAt.current ?? .max) - asked
                print("cancel reached the handler \(delay) ms after the request; heartbeat interval 1000 ms")
                #expect(delay <= 1000 + 4000, "cancel reached the handler after \(delay) ms; the heartbeat interval is 1000 ms")
                #expect(try await eventually { try await store.get(created.id)?.status == .cancelled }, "acknowledged")
            }
        }
    }

    /// In the commit phase a plain cancel is refused (406); a forced one cancels at once and fences
    /// the lease, so the handler is stopped and the worker writes nothing after.
    @Test func commitPhaseCancelNeedsForce() async throws {
        try await withRunningStore { store in
            let committing = Box<Bool>(false)
            let stopped = Box<Bool>(false)
            let configuration = TaskWorkerConfiguration(commandTypes: ["commit"], concurrency: 1, lease: .seconds(3))
            try await withWorker(store, configuration, handler: { context in
                try await context.enterCommitPhase()
                committing.set(true)
                do {
                    try await Task.sleep(for: .seconds(60))
                } catch {
                    stopped.set(true)
                    throw error
                }
                return nil
            }) { _ in
                let created = try await store.create(NewTask(commandType: "commit"))
                #expect(try await eventually { committing.current })
                let refusal = await #expect(throws: TaskEngineError.self) { try await store.cancel(created.id) }
                #expect(refusal?.code == .notCancellable, "a plain cancel in the commit phase is 406")
                #expect(try await store.cancel(created.id, force: true).status == .cancelled)
                #expect(try await eventually(timeout: .seconds(10)) { stopped.current }, "the lost lease stopped the handler")
                let after = try #require(try await store.get(created.id))
                try await Task.sleep(for: .seconds(1.5))
                #expect(try await store.get(created.id)?.version == after.version, "nothing written after the forced cancel")
                #expect(after.status == .cancelled)
            }
        }
    }

    /// A failed attempt's op states reach the next attempt's handler, which resumes from them.
    @Test func retriedAttemptResumesFromTheLastOpStates() async throws {
        try await withRunningStore(configure: { $0.retryBackoffBase = .milliseconds(50) }) { store in
            let seen = Box<[String: String]?>(nil)
            let configuration = TaskWorkerConfiguration(commandTypes: ["resume"], concurrency: 1, lease: .seconds(5))
            try await withWorker(store, configuration, handler: { context in
                if context.attempt == 1 {
                    try await context.reportOp("a", progress: 100, name: "copy", statusCode: "done", snapshot: #"{"copied":10}"#)
                    try await context.reportOp("b", progress: 30, name: "copy", statusCode: "running", snapshot: #"{"copied":3}"#)
                    throw TaskFailure("node_down", "the node went away")
                }
                seen.set(context.previousOpStates)
                return #"{"resumed":true}"#
            }) { _ in
                let created = try await store.create(NewTask(commandType: "resume", ops: ["a", "b", "c"], maxAttempts: 2))
                #expect(try await eventually { try await store.get(created.id)?.status == .completed })
                let states = try #require(seen.current)
                #expect(states["a"]?.hasPrefix(#"{"progress":100,"op_name":"copy","status_code":"done","snapshot":{"copied":10},"heartbeat":"#) == true)
                #expect(states["b"]?.contains(#""snapshot":{"copied":3}"#) == true)
                #expect(states["c"] == "{}")
                let task = try #require(try await store.get(created.id))
                #expect(task.attempt == 2)
                #expect(task.response == #"{"resumed":true}"#)
            }
        }
    }

    /// Every report a handler makes is its own event, in order; none is merged away.
    @Test func everyReportIsItsOwnEvent() async throws {
        try await withRunningStore { store in
            let configuration = TaskWorkerConfiguration(commandTypes: ["steps"], concurrency: 4, lease: .seconds(10))
            try await withWorker(store, configuration, handler: { context in
                for step in 1...10 { try await context.report(progress: Double(step * 10)) }
                return nil
            }) { _ in
                let created = try await store.create(NewTask(commandType: "steps"))
                #expect(try await eventually { try await store.get(created.id)?.status == .completed })
                let progress = try await store.history(created.id).filter { $0.kind == "progress" || $0.reason == "heartbeat" }.map(\.progress)
                #expect(progress == (1...10).map { Double($0 * 10) })
            }
        }
    }
}

extension TaskEvent {
    var reason: String? { extras["reason"] }
}
