import Hummingbird
import TaskEngine

/// Redis Software actions (seeds 000, 001) at their documented paths.
struct SoftwareActionsController {
    let services: APIServices

    var endpoints: [Endpoint] {
        [
            Endpoint(.get, "/v1/actions", .read, .softwareActions, list),
            Endpoint(.get, "/v1/actions/{uid}", .read, .softwareActions, get),
            Endpoint(.get, "/v1/actions/bdb/{bdb_uid}", .read, .softwareActions, listDatabase),
        ]
    }

    /// Every action, tasks and state machines apart.
    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let tasks = try await services.allTasks(TaskQuery())
        return jsonResponse(SoftwareActionsList(
            actions: tasks.filter { $0.kind == .task }.map(SoftwareActionRepresentation.init),
            stateMachines: tasks.filter { $0.kind == .stateMachine }.map(SoftwareActionRepresentation.init)))
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> Response {
        jsonResponse(SoftwareActionRepresentation(try await services.task(try request.taskID(context, "uid"))))
    }

    /// The actions of database `bdb_uid` (object name `bdb:<uid>`): a JSON array, empty when none.
    @Sendable func listDatabase(_ request: Request, context: AppRequestContext) async throws -> Response {
        let uid = try request.parameter("bdb_uid", context)
        guard uid.utf8.count <= 64, uid.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw APIError.badRequest("invalid_parameter", "bdb_uid must be a database uid such as 1.")
        }
        let tasks = try await services.allTasks(TaskQuery(objectName: "bdb:\(uid)"))
        return jsonResponse(tasks.map(SoftwareActionRepresentation.init))
    }
}
