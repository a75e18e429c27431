import TaskEngine

/// A Redis Software action object (seeds 000, 001). Tasks created with `kind: "state-machine"` are
/// state machines and use the list vocabulary (`pending`/`active`/…) everywhere; plain tasks use the
/// action object's vocabulary. Fields are written in the order declared here; `pending_ops` by op id.
struct SoftwareActionRepresentation: JSONWritable, Sendable {
    var action_uid: String
    var task_id: String
    var name: String
    var status: String
    var progress: Double
    var node_uid: String?
    var object_name: String?
    var state: String?
    var heartbeat: Int64?
    var pending_ops: [String: JSONValue]?
    var error_code: String?
    var error_message: String?

    func writeJSON(to json: inout JSONWriter) {
        json.object { json in
            json.field("action_uid", action_uid)
            json.field("task_id", task_id)
            json.field("name", name)
            json.field("status", status)
            json.field("progress", progress)
            json.field("node_uid", node_uid)
            json.field("object_name", object_name)
            json.field("state", state)
            json.field("heartbeat", heartbeat)
            json.field("pending_ops", pending_ops.map(JSONValue.object))
            json.field("error_code", error_code)
            json.field("error_message", error_message)
        }
    }

    init(_ task: TaskRecord) {
        action_uid = task.id
        task_id = task.id
        name = task.commandType
        status = task.kind == .stateMachine ? task.status.softwareStateMachine : task.status.softwareAction
        progress = task.progress
        node_uid = task.nodeUid
        object_name = task.objectName
        state = task.state
        // Seconds since the epoch of the last visible change, as the seed's state machines show.
        heartbeat = task.status == .queued ? nil : task.updatedAt / 1000
        pending_ops = task.ops.isEmpty ? nil : Dictionary(uniqueKeysWithValues: task.ops.map { ($0.id, JSONValue(text: $0.json) ?? .object([:])) })
        if [.failed, .dismissed].contains(task.status) {
            error_code = task.errorCode ?? "internal_error"
            error_message = task.errorMessage ?? "The action failed."
        } else if task.status == .cancelled {
            error_code = "cancelled"
            error_message = "The action was cancelled."
        }
    }
}

/// `GET /v1/actions`: tasks and state machines in their two lists.
struct SoftwareActionsList: JSONWritable, Sendable {
    var actions: [SoftwareActionRepresentation]
    var stateMachines: [SoftwareActionRepresentation]

    func writeJSON(to json: inout JSONWriter) {
        json.object { json in
            json.field("actions", actions)
            json.field("state-machines", stateMachines)
        }
    }
}
