import HTTPTypes
import Hummingbird
import TaskEngine

/// taskd's own task routes: create, cancel, dismiss and delete (DESIGN.md §4.1). Reading tasks is
/// Redis Cloud's `GET /v1/tasks[/{taskId}]` (``CloudTasksController``), whose representation is
/// also taskd's native one.
struct NativeTasksController {
    let services: APIServices

    static let createFields: Set<String> = [
        "commandType", "description", "params", "objectName", "nodeUid", "kind", "ops", "resultTtl",
        "maxAttempts", "runAt", "priority", "uniqueKey",
    ]

    var endpoints: [Endpoint] {
        [
            Endpoint(.post, "/v1/tasks", .operate, .native, create),
            Endpoint(.delete, "/v1/tasks/{taskId}", .operate, .native, delete),
            Endpoint(.post, "/v1/tasks/{taskId}/actions/cancel", .operate, .native, cancel),
            Endpoint(.post, "/v1/tasks/{taskId}/dismiss", .operate, .native, dismiss),
        ]
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await JSONBody.read(request, context: context, allowed: Self.createFields)
        var new = NewTask(commandType: try body.string("commandType", required: true, maxLength: TaskLimits.commandTypeLength.upperBound) ?? "")
        new.description = try body.string("description")
        new.params = try body.json("params")
        new.objectName = try body.string("objectName", maxLength: TaskLimits.nameLength.upperBound)
        // Redis Software node uids are strings in some answers and numbers in others: take either.
        // (Asking for a string first would refuse a number before the integer fallback ran.)
        if case .number? = body.fields["nodeUid"] {
            new.nodeUid = try body.integer("nodeUid").map(String.init)
        } else {
            new.nodeUid = try body.string("nodeUid", maxLength: TaskLimits.nameLength.upperBound)
        }
        if let kind = try body.string("kind", maxLength: 32) {
            guard let value = TaskKind(rawValue: kind) else { throw APIError.badRequest("invalid_field", "kind must be task or state-machine.") }
            new.kind = value
        }
        new.ops = try body.strings("ops") ?? []
        new.resultTtl = try body.integer("resultTtl")
        new.maxAttempts = try body.integer("maxAttempts") ?? 1
        if let runAt = try body.string("runAt", maxLength: 64) {
            guard let milliseconds = Timestamp.milliseconds(iso8601: runAt) else {
                throw APIError.badRequest("invalid_field", "runAt must be an ISO-8601 time such as 2026-01-01T12:00:00Z.")
            }
            new.runAt = milliseconds
        }
        new.priority = try body.integer("priority") ?? 0
        new.uniqueKey = try body.string("uniqueKey", maxLength: TaskLimits.nameLength.upperBound)
        new.idempotencyKey = request.headers[HTTPField.Name("Idempotency-Key")!]
        // W3C: an invalid traceparent is ignored, not refused.
        new.traceparent = TraceParent.parse(request.headers[HTTPField.Name("traceparent")!])
        let created = try await services.store.create(new)
        let task: TaskRecord
        if let fresh = created.task {
            task = fresh
        } else if let replayed = TaskID(created.id) {
            task = try await services.task(replayed)
        } else {
            throw APIError.taskNotFound(created.id)
        }
        let base = services.origin.baseURL(of: request, context: context)
        return jsonResponse(NativeTaskRepresentation(task, baseURL: base), status: created.replayed ? .ok : .accepted,
                                headers: [.location: "\(base)/v1/tasks/\(task.id)", .eTag: "\"\(task.version)\""])
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await services.store.delete(try request.taskID(context).text)
        return Response(status: .noContent)
    }

    @Sendable func cancel(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try request.taskID(context)
        _ = try await services.store.cancel(id.text, force: try request.flag("force"))
        let task = try await services.task(id)
        return jsonResponse(NativeTaskRepresentation(task, baseURL: services.origin.baseURL(of: request, context: context)), headers: [.eTag: "\"\(task.version)\""])
    }

    @Sendable func dismiss(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await services.store.dismiss(try request.taskID(context).text)
        return Response(status: .noContent)
    }
}
