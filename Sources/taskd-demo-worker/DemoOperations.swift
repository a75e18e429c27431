import Foundation
import TaskEngine
import TaskWorker

/// Pretend control-plane operations, a few seconds each, that behave like real ones: per-op
/// progress with a resumable snapshot, a commit phase that a plain cancel cannot interrupt, an
/// occasional transient failure, and a prompt stop when cancelled (every step is a `Task.sleep`,
/// which throws on cancellation).
struct DemoOperations: Sendable {
    static let commandTypes = ["backup", "reshard", "create_db", "delete_db"]

    /// How long one step takes.
    var step: Duration
    /// Share of attempts that fail with a retryable error somewhere in the middle.
    var failureRate: Double

    func run(_ context: TaskContext) async throws -> String? {
        switch context.task.commandType {
        case "backup": return try await backup(context)
        case "reshard": return try await reshard(context)
        case "create_db": return try await createDatabase(context)
        case "delete_db": return try await deleteDatabase(context)
        default: throw TaskFailure("unknown_command", "this worker does not know \(context.task.commandType)", retryable: false)
        }
    }

    /// Each op is a shard to copy in five chunks; a retried attempt resumes from the chunks its
    /// snapshot says were copied. Uploading the manifest is the commit phase.
    private func backup(_ context: TaskContext) async throws -> String? {
        let shards = context.ops.isEmpty ? ["1"] : context.ops
        let failAt = willFail() ? Int.random(in: 0..<shards.count) : nil
        try await context.report(progress: 0, state: "copying", description: "Copying \(shards.count) shard(s)")
        for (index, shard) in shards.enumerated() {
            let done = copiedChunks(context.previousOpStates[shard])
            if done >= 5 { continue }
            for chunk in (done + 1)...5 {
                try await Task.sleep(for: step)
                if failAt == index, chunk == 3 {
                    try await context.reportOp(shard, progress: Double(chunk - 1) * 20, name: "copy", statusCode: "error",
                                               statusDescription: "lost the connection to the node", snapshot: #"{"copiedChunks":\#(chunk - 1)}"#)
                    throw TaskFailure("node_unreachable", "lost the connection to the node of shard \(shard) (simulated; retried)")
                }
                try await context.reportOp(shard, progress: Double(chunk) * 20, name: "copy", statusCode: chunk == 5 ? "done" : "running",
                                           statusDescription: "chunk \(chunk) of 5", snapshot: #"{"copiedChunks":\#(chunk)}"#)
                let overall = (Double(index) + Double(chunk) / 5) / Double(shards.count) * 90
                try await context.report(progress: (overall * 10).rounded() / 10)
            }
        }
        try await context.enterCommitPhase()
        try await context.report(progress: 95, state: "uploading_manifest", description: "Uploading the backup manifest")
        try await sleepIgnoringCancel(step)
        return #"{"backupId":"bk-\#(context.id.prefix(8))","shards":\#(shards.count)}"#
    }

    /// Each op is a shard whose slots move in four steps.
    private func reshard(_ context: TaskContext) async throws -> String? {
        let shards = context.ops.isEmpty ? ["1", "2"] : context.ops
        let fail = willFail()
        try await context.report(progress: 0, state: "migrating", description: "Moving slots of \(shards.count) shard(s)")
        for (index, shard) in shards.enumerated() {
            for part in 1...4 {
                try await Task.sleep(for: step)
                if fail, index == shards.count - 1, part == 2 {
                    throw TaskFailure("migration_timeout", "slot migration of shard \(shard) timed out (simulated; retried)")
                }
                try await context.reportOp(shard, progress: Double(part) * 25, name: "migrate_slots", statusCode: part == 4 ? "done" : "running",
                                           statusDescription: "\(part * 25)% of the slots moved")
                try await context.report(progress: ((Double(index) + Double(part) / 4) / Double(shards.count) * 100 * 10).rounded() / 10)
            }
        }
        return #"{"shards":\#(shards.count)}"#
    }

    /// States a database goes through; starting it is the commit phase.
    private func createDatabase(_ context: TaskContext) async throws -> String? {
        let fail = willFail()
        let steps = [("allocating", "Allocating memory on the nodes"), ("configuring", "Writing the configuration"),
                     ("starting", "Starting the shards")]
        for (index, (state, sentence)) in steps.enumerated() {
            if state == "starting" { try await context.enterCommitPhase() }
            try await context.report(progress: Double(index) / Double(steps.count) * 100, state: state, description: sentence)
            try await (state == "starting" ? sleepIgnoringCancel(step * 2) : Task.sleep(for: step * 2))
            if fail, state == "configuring" { throw TaskFailure("config_rejected", "the cluster rejected the configuration (simulated; retried)") }
        }
        return #"{"bdbUid":\#(Int.random(in: 1...999))}"#
    }

    private func deleteDatabase(_ context: TaskContext) async throws -> String? {
        try await context.report(progress: 0, state: "draining", description: "Draining client connections")
        try await Task.sleep(for: step * 2)
        try await context.enterCommitPhase()
        try await context.report(progress: 50, state: "deleting", description: "Deleting the shards")
        try await sleepIgnoringCancel(step * 2)
        return nil
    }

    private func willFail() -> Bool { Double.random(in: 0..<1) < failureRate }

    private func copiedChunks(_ state: String?) -> Int {
        guard let state, let range = state.range(of: #""copiedChunks":"#) else { return 0 }
        return Int(state[range.upperBound...].prefix(while: \.isNumber)) ?? 0
    }

    /// The commit phase runs to its end: a plain cancel is refused then, and work that must not stop
    /// halfway does not check for cancellation.
    private func sleepIgnoringCancel(_ duration: Duration) async throws {
        await Task { try? await Task.sleep(for: duration) }.value
    }
}
