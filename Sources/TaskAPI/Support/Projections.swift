import TaskEngine

/// DESIGN.md §2's projection table: each dialect's word for a canonical status, in one place.
extension TaskStatus {
    /// Redis Software action object (`GET /v1/actions/{uid}` of a task).
    var softwareAction: String {
        switch self {
        case .queued: "queued"
        case .starting: "starting"
        case .running, .impacted: "running"
        case .cancelling: "cancelling"
        case .cancelled: "cancelled"
        case .completed: "completed"
        case .failed, .dismissed: "failed"
        }
    }

    /// Redis Software lists and state machines.
    var softwareStateMachine: String {
        switch self {
        case .queued: "pending"
        case .starting, .running, .impacted, .cancelling: "active"
        case .completed: "completed"
        case .cancelled, .failed, .dismissed: "failed"
        }
    }

    var crdb: String {
        switch self {
        case .queued: "queued"
        case .starting, .running, .impacted, .cancelling: "started"
        case .completed: "finished"
        case .cancelled, .failed, .dismissed: "failed"
        }
    }

    var cloud: String {
        switch self {
        case .queued: "received"
        case .starting, .running, .impacted, .cancelling: "processing-in-progress"
        case .completed: "processing-completed"
        case .cancelled, .failed, .dismissed: "processing-error"
        }
    }

    /// The status sentence Redis Cloud sends as `description`.
    var cloudSentence: String {
        switch self {
        case .queued: "Task request received and is being queued for processing."
        case .starting, .running, .impacted, .cancelling: "Task request is being processed."
        case .completed: "Request processing completed successfully and its resources are now being provisioned / de-provisioned."
        case .cancelled: "Task request was cancelled before it completed."
        case .failed, .dismissed: "Task request failed during processing. See error information for failure details."
        }
    }

    var kapi: Int {
        switch self {
        case .queued: 0
        case .starting, .running, .cancelling: 1
        case .impacted: 2
        case .failed: 3
        case .cancelled, .dismissed: 4
        case .completed: 5
        }
    }
}
