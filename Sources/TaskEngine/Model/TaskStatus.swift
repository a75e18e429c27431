/// The canonical lifecycle status of a task (DESIGN.md §2), as stored in the task hash's `status` field.
public enum TaskStatus: String, Sendable, Hashable, CaseIterable, Codable {
    case queued, starting, running, impacted, cancelling
    case completed, failed, cancelled, dismissed

    /// Terminal: the task will not change status again (except `failed` → `dismissed`) and its keys carry the result TTL.
    public var isFinished: Bool {
        switch self {
        case .completed, .failed, .cancelled, .dismissed: true
        case .queued, .starting, .running, .impacted, .cancelling: false
        }
    }

    /// A worker holds the task under a lease.
    public var isLeased: Bool {
        switch self {
        case .starting, .running, .impacted, .cancelling: true
        case .queued, .completed, .failed, .cancelled, .dismissed: false
        }
    }
}

/// Whether a task is a plain task or a state machine (Redis Software lists the two apart).
public enum TaskKind: String, Sendable, Hashable, CaseIterable, Codable {
    case task
    case stateMachine = "state-machine"
}
