/// What a transition did, as the engine's metrics count it: the task's commandType, the status the
/// task entered, and the times the wait and run histograms need (``EngineMetrics``).
struct TransitionObservation: Sendable {
    var commandType: String
    /// The status the call moved the task into.
    var status: TaskStatus
    /// When the task was created (ms): set on the claim of its first attempt, whose wait it measures.
    var createdAt: Int64?
    /// When the task was first claimed (ms): set on a move into a finished status, whose run it measures.
    var startedAt: Int64?
}

/// A script reply plus what the metrics need of it, for transitions whose public result carries
/// less than that (the trailing `commandType`/`startedAt` reply fields of complete, fail, …).
struct Observed<Value: Sendable>: Sendable {
    var value: Value
    var observation: TransitionObservation?
}

extension ScriptReplyFields {
    /// The trailing `commandType, startedAt` fields of a finishing script's reply.
    mutating func observation(entering status: TaskStatus, withStartedAt: Bool = true) throws -> TransitionObservation {
        let commandType = try string("commandType")
        let startedAt = withStartedAt ? try optionalInt("startedAt") : nil
        return TransitionObservation(commandType: commandType, status: status, startedAt: status.isFinished ? startedAt : nil)
    }
}
