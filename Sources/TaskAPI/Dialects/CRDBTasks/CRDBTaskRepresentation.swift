import TaskEngine

/// A CRDB task object (seed 004), its fields written in the order declared here.
struct CRDBTaskRepresentation: JSONWritable, Sendable {
    struct TaskError: JSONWritable, Sendable {
        var cluster_name: String
        var description: String
        var error_code: String

        func writeJSON(to json: inout JSONWriter) {
            json.object { json in
                json.field("cluster_name", cluster_name)
                json.field("description", description)
                json.field("error_code", error_code)
            }
        }
    }

    var id: String
    var operation: String
    var status: String
    var started: String?
    var ended: String?
    var worker_name: String?
    var errors: [TaskError]
    var progress: Double
    // `verbose=true` adds these.
    var state: String?
    var status_description: String?
    var description: String?
    var object_name: String?
    var attempt: Int?
    var max_attempts: Int?
    var expires: String?
    var lifecycle_status: String?

    func writeJSON(to json: inout JSONWriter) {
        json.object { json in
            json.field("id", id)
            json.field("operation", operation)
            json.field("status", status)
            json.field("started", started)
            json.field("ended", ended)
            json.field("worker_name", worker_name)
            json.field("errors", errors)
            json.field("progress", progress)
            json.field("state", state)
            json.field("status_description", status_description)
            json.field("description", description)
            json.field("object_name", object_name)
            json.field("attempt", attempt)
            json.field("max_attempts", max_attempts)
            json.field("expires", expires)
            json.field("lifecycle_status", lifecycle_status)
        }
    }

    init(_ task: TaskRecord, verbose: Bool) {
        id = task.id
        operation = task.commandType
        status = task.status.crdb
        started = task.startedAt.map(Timestamp.iso8601(milliseconds:))
        ended = task.endedAt.map(Timestamp.iso8601(milliseconds:))
        worker_name = task.workerId
        progress = task.progress
        errors = []
        if [.failed, .dismissed].contains(task.status) {
            errors = [TaskError(cluster_name: task.nodeUid ?? "", description: task.errorMessage ?? "The task failed.", error_code: task.errorCode ?? "internal_error")]
        } else if task.status == .cancelled {
            errors = [TaskError(cluster_name: task.nodeUid ?? "", description: "The task was cancelled.", error_code: "cancelled")]
        }
        if verbose {
            state = task.state
            status_description = task.statusDescription
            description = task.description
            object_name = task.objectName
            attempt = task.attempt
            max_attempts = task.maxAttempts
            expires = task.expiresAt.map(Timestamp.iso8601(milliseconds:))
            lifecycle_status = task.status.rawValue
        }
    }
}
