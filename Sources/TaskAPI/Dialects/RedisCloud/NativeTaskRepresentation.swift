import TaskEngine

/// A task as Redis Cloud shows it (seed 003), which is also taskd's native representation with its
/// added fields (DESIGN.md §3): `GET /v1/tasks/{taskId}`, `POST /v1/tasks`, SSE `data:`.
/// Fields are written in the order declared here (README, "JSON field order").
struct NativeTaskRepresentation: JSONWritable, Sendable {
    struct Link: JSONWritable, Sendable {
        var rel: String?
        var href: String
        var title: String?
        var type: String

        func writeJSON(to json: inout JSONWriter) {
            json.object { json in
                json.field("rel", rel)
                json.field("href", href)
                json.field("title", title)
                json.field("type", type)
            }
        }
    }

    struct Links: JSONWritable, Sendable {
        var `self`: Link
        var task: Link
        var resource: Link?

        func writeJSON(to json: inout JSONWriter) {
            json.object { json in
                json.field("self", self.`self`)
                json.field("task", task)
                json.field("resource", resource)
            }
        }
    }

    var taskId: String
    var commandType: String
    var status: String
    var description: String
    var timestamp: String
    var response: JSONValue?
    var _links: Links
    var links: [Link]
    var progress: Double
    var state: String?
    var lifecycleStatus: String
    var taskDescription: String?
    var objectName: String?
    var kind: String
    var attempt: Int
    var version: Int64

    init(_ task: TaskRecord, baseURL: String) {
        let href = "\(baseURL)/v1/tasks/\(task.id)"
        taskId = task.id
        commandType = task.commandType
        status = task.status.cloud
        description = task.status.cloudSentence
        timestamp = Timestamp.iso8601(milliseconds: task.updatedAt)
        response = Self.response(of: task)
        var resource: Link?
        if let resourceHref = response?["resourceUrl"], case .string(let url) = resourceHref {
            resource = Link(rel: "resource", href: url, title: "getResourceInformation", type: "GET")
        }
        _links = Links(
            self: Link(href: href, type: "GET"),
            task: Link(href: href, title: "getTaskStatusUpdates", type: "GET"),
            resource: resource.map { Link(href: $0.href, title: $0.title, type: $0.type) })
        links = [Link(rel: "self", href: href, type: "GET"), Link(rel: "task", href: href, title: "getTaskStatusUpdates", type: "GET")]
            + (resource.map { [$0] } ?? [])
        progress = task.progress
        state = task.state
        lifecycleStatus = task.status.rawValue
        taskDescription = task.description
        objectName = task.objectName
        kind = task.kind.rawValue
        attempt = task.attempt
        version = task.version
    }

    func writeJSON(to json: inout JSONWriter) {
        json.object { json in
            json.field("taskId", taskId)
            json.field("commandType", commandType)
            json.field("status", status)
            json.field("description", description)
            json.field("timestamp", timestamp)
            json.field("response", response)
            json.field("_links", _links)
            json.field("links", links)
            json.field("progress", progress)
            json.field("state", state)
            json.field("lifecycleStatus", lifecycleStatus)
            json.field("taskDescription", taskDescription)
            json.field("objectName", objectName)
            json.field("kind", kind)
            json.field("attempt", attempt)
            json.field("version", version)
        }
    }

    /// `{"resourceId": …}` (what the worker completed with) on success; the error object on failure.
    static func response(of task: TaskRecord) -> JSONValue? {
        switch task.status {
        case .completed:
            return JSONValue(text: task.response) ?? .object([:])
        case .failed, .dismissed:
            return .object(["error": .object([
                "type": .string(task.errorCode ?? "task_failed"),
                "status": .string(task.errorCode == "worker_lost" ? "500 INTERNAL_SERVER_ERROR" : "400 BAD_REQUEST"),
                "description": .string(task.errorMessage ?? "The task failed."),
            ])])
        case .cancelled:
            return .object(["error": .object([
                "type": .string("cancelled"), "status": .string("409 CONFLICT"),
                "description": .string("The task was cancelled before it completed."),
            ])])
        default:
            return nil
        }
    }
}
