import TaskEngine

/// A kAPI action object (seed 002), its fields written in the order declared here.
struct KAPIActionRepresentation: JSONWritable, Sendable {
    var id: String
    var title: String
    var created_at: Int64
    var status: Int
    var description: String
    var progress: Double?
    var state: String?

    func writeJSON(to json: inout JSONWriter) {
        json.object { json in
            json.field("id", id)
            json.field("title", title)
            json.field("created_at", created_at)
            json.field("status", status)
            json.field("description", description)
            json.field("progress", progress)
            json.field("state", state)
        }
    }

    init(_ task: TaskRecord) {
        id = task.id
        title = task.commandType
        created_at = task.createdAt
        status = task.status.kapi
        description = task.description ?? ""
        progress = task.progress
        state = task.state
    }
}
