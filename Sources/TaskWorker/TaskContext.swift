import Logging
import TaskEngine

/// What a handler gets for one attempt of one task: the task as claimed, and the calls that report
/// progress. Every report is one heartbeat (one event a watcher sees: none is merged away) and
/// renews the lease; the worker also renews it by itself every third of the lease.
///
/// A report after the lease was lost throws ``TaskWorkerError`` (`leaseLost`) without writing.
public final class TaskContext: Sendable {
    /// The task as claimed: id, params, ops in order, attempt.
    public let task: ClaimedTask
    /// What the previous attempt reported per op (JSON text by op id), so this one can resume;
    /// empty on a first attempt.
    public let previousOpStates: [String: String]
    public let logger: Logger
    let store: TaskStore
    let stop: StopSignal

    init(task: ClaimedTask, store: TaskStore, stop: StopSignal, logger: Logger) {
        self.task = task
        self.previousOpStates = Dictionary(task.opStates.map { ($0.id, $0.json) }, uniquingKeysWith: { first, _ in first })
        self.store = store
        self.stop = stop
        var logger = logger
        logger[metadataKey: "task.id"] = "\(task.id)"
        logger[metadataKey: "task.attempt"] = "\(task.attempt)"
        self.logger = logger
    }

    public var id: String { task.id }
    public var params: String? { task.params }
    public var ops: [String] { task.ops }
    public var attempt: Int { task.attempt }

    /// Whether an operator asked to cancel (the handler is being cancelled too).
    public var isCancellationRequested: Bool { stop.current == .cancelRequested }

    /// Reports the task's progress (0–100), its current state name and status sentence; each given
    /// value lands as its own event.
    public func report(progress: Double? = nil, state: String? = nil, description: String? = nil) async throws {
        try await send(Heartbeat(leaseToken: task.leaseToken, progress: progress, state: state, statusDescription: description))
    }

    /// Reports one sub-operation (a Redis Software `pending_ops` entry). `snapshot` is JSON text the
    /// next attempt gets back in ``previousOpStates`` to resume from.
    public func reportOp(
        _ opId: String, progress: Double? = nil, name: String? = nil, statusCode: String? = nil,
        statusDescription: String? = nil, snapshot: String? = nil
    ) async throws {
        var members: [String] = []
        if let progress { members.append(#""progress":"# + TaskContext.number(progress)) }
        if let name { members.append(#""op_name":"# + TaskContext.quoted(name)) }
        if let statusCode { members.append(#""status_code":"# + TaskContext.quoted(statusCode)) }
        if let statusDescription { members.append(#""status_description":"# + TaskContext.quoted(statusDescription)) }
        if let snapshot { members.append(#""snapshot":"# + snapshot) }
        let op = TaskOp(id: opId, json: "{" + members.joined(separator: ",") + "}")
        try await send(Heartbeat(leaseToken: task.leaseToken, ops: [op]))
    }

    /// Declares the commit phase: from now on a plain cancel is refused (406); only a forced one stops it.
    public func enterCommitPhase() async throws {
        try await send(Heartbeat(leaseToken: task.leaseToken, cancellable: false))
    }

    /// One heartbeat; a cancel request or a lost lease stops the handler.
    func send(_ heartbeat: Heartbeat) async throws {
        if stop.current == .leaseLost { throw lost("the lease of this attempt is gone; nothing more is written for it") }
        do {
            let result = try await store.heartbeat(task.id, heartbeat)
            if result.cancelRequested { stop.stop(.cancelRequested) }
        } catch let error as TaskEngineError where Self.meansLeaseLost(error) {
            stop.stop(.leaseLost)
            throw lost(error.message)
        }
    }

    private func lost(_ message: String) -> TaskWorkerError {
        TaskWorkerError(code: .leaseLost, message: "task \(task.id) attempt \(task.attempt): \(message)")
    }

    /// Refusals that say this attempt no longer owns the task.
    static func meansLeaseLost(_ error: TaskEngineError) -> Bool {
        error.code == .staleLease || error.code == .notFound || error.code == .wrongStatus
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    /// A JSON string literal.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
