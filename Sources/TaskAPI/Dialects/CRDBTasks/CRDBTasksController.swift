import HTTPTypes
import Hummingbird
import TaskEngine

/// CRDB tasks (seed 004) at their documented paths.
struct CRDBTasksController {
    let services: APIServices

    var endpoints: [Endpoint] {
        [
            Endpoint(.get, "/v1/crdb_tasks", .read, .crdbTasks, list),
            Endpoint(.get, "/v1/crdb_tasks/{task_id}", .read, .crdbTasks, get),
            Endpoint(.post, "/v1/crdb_tasks/{task_id}/actions/cancel", .operate, .crdbTasks, cancel),
        ]
    }

    static let unfinished: Set<TaskStatus> = Set(TaskStatus.allCases.filter { !$0.isFinished })

    /// The tasks not yet finished.
    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let verbose = try request.flag("verbose")
        let tasks = try await services.allTasks(TaskQuery(statuses: Self.unfinished))
        return jsonResponse(tasks.map { CRDBTaskRepresentation($0, verbose: verbose) })
    }

    /// With `X-Result-TTL: <s>` the finished result is kept that long from now (operator or admin only:
    /// a viewer's request with the header is 403 and changes nothing).
    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try request.taskID(context, "task_id")
        if let ttl = request.headers[HTTPField.Name("X-Result-TTL")!] {
            guard let seconds = Int(ttl), TaskLimits.resultTtl.contains(seconds) else {
                throw APIError.badRequest("invalid_header", "X-Result-TTL must be whole seconds from 1 to \(TaskLimits.resultTtl.upperBound).")
            }
            // Changing how long a result is kept is a change: a viewer's read may not make it vanish.
            guard let role = context.apiKey?.role, Access.operate.allows(role) else {
                throw APIError(.forbidden, "forbidden", "X-Result-TTL changes how long the task is kept, which needs the operator or admin role; read without the header.")
            }
            try await services.store.extendResultTTL(id.text, seconds: seconds)
        }
        return jsonResponse(CRDBTaskRepresentation(try await services.task(id), verbose: try request.flag("verbose")))
    }

    struct Cancelled: JSONWritable {
        var id: String
        var status: String
        var message: String

        func writeJSON(to json: inout JSONWriter) {
            json.object { json in
                json.field("id", id)
                json.field("status", status)
                json.field("message", message)
            }
        }
    }

    /// 200 accepted; 404 unknown; 406 in the commit phase (unless `force`); 409 already finished or lost a race.
    @Sendable func cancel(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try request.taskID(context, "task_id")
        let result = try await services.store.cancel(id.text, force: try request.flag("force"))
        let message = result.status == .cancelled ? "The task was cancelled." : "Cancellation requested; the task stops at its next step."
        return jsonResponse(Cancelled(id: id.text, status: result.status.crdb, message: message))
    }
}
