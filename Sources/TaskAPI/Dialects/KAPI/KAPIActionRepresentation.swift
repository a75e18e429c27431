import TaskEngine

/// A kAPI action object (seed 002).
struct KAPIActionRepresentation: Encodable, Sendable {
    var id: String
    var title: String
    var created_at: Int64
    var status: Int
    var description: String
    var progress: Double?
    var state: String?

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
