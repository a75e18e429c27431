import Hummingbird
import TaskEngine

/// kAPI actions (seed 002) at their documented paths, plus `GET /kapi/actions/{id}`.
struct KAPIActionsController {
    let services: APIServices

    var endpoints: [Endpoint] {
        [
            Endpoint(.get, "/kapi/actions", .read, .kapi, list),
            Endpoint(.get, "/kapi/actions/{id}", .read, .kapi, get),
            Endpoint(.post, "/kapi/actions/{id}/dismiss", .operate, .kapi, dismiss),
        ]
    }

    /// Ongoing and failed actions: completed and aborted ones are ephemeral in kAPI and not listed.
    static let listed: Set<TaskStatus> = Set(TaskStatus.allCases.filter { !$0.isFinished } + [.failed])

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let tasks = try await services.allTasks(TaskQuery(statuses: Self.listed))
        return jsonResponse(tasks.map(KAPIActionRepresentation.init))
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> Response {
        jsonResponse(KAPIActionRepresentation(try await services.task(try request.taskID(context, "id"))))
    }

    /// 204 when dismissed; 409 when the action is not failed; 404 when unknown.
    @Sendable func dismiss(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await services.store.dismiss(try request.taskID(context, "id").text)
        return Response(status: .noContent)
    }
}
