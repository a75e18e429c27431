import HTTPTypes
import Hummingbird
import TaskEngine
import TaskEvents

/// taskd's own task routes: Redis Cloud's `GET /v1/tasks[/{taskId}]` (the native representation)
/// plus create, cancel, dismiss and delete (DESIGN.md §4.1).
struct NativeTasksController {
    let services: APIServices
    let hub: TaskChangeHub

    /// Longest `Prefer: wait=<s>` long-poll.
    static let maximumWait = 60

    static let createFields: Set<String> = [
        "commandType", "description", "params", "objectName", "nodeUid", "kind", "ops", "resultTtl",
        "maxAttempts", "runAt", "priority", "uniqueKey",
    ]

    var endpoints: [Endpoint] {
        [
            Endpoint(.get, "/v1/tasks", .read, .native, list),
            Endpoint(.post, "/v1/tasks", .operate, .native, create),
            Endpoint(.get, "/v1/tasks/{taskId}", .read, .native, get),
            Endpoint(.delete, "/v1/tasks/{taskId}", .operate, .native, delete),
            Endpoint(.post, "/v1/tasks/{taskId}/actions/cancel", .operate, .native, cancel),
            Endpoint(.post, "/v1/tasks/{taskId}/dismiss", .operate, .native, dismiss),
        ]
    }

    /// Redis Cloud lists the tasks of the last 10 days, most recent status update first.
    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        var taskQuery = TaskQuery(updatedSince: services.store.now() - 10 * 86_400_000)
        if let limit = query.get("limit") {
            guard let value = Int(limit), TaskQuery.limitRange.contains(value) else {
                throw APIError.badRequest("invalid_parameter", "limit must be an integer from 1 to \(TaskQuery.limitRange.upperBound).")
            }
            taskQuery.limit = value
        }
        taskQuery.cursor = query.get("cursor").map { String($0) }
        taskQuery.commandType = query.get("commandType").map { String($0) }
        taskQuery.objectName = query.get("objectName").map { String($0) }
        if let status = query.get("status") {
            guard let canonical = TaskStatus(rawValue: String(status)) else {
                throw APIError.badRequest("invalid_parameter", "status must be one of \(TaskStatus.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            taskQuery.statuses = [canonical]
        }
        if let kind = query.get("kind") {
            guard let value = TaskKind(rawValue: String(kind)) else {
                throw APIError.badRequest("invalid_parameter", "kind must be task or state-machine.")
            }
            taskQuery.kind = value
        }
        let page = try await services.store.list(taskQuery)
        let base = baseURL(of: request)
        return try jsonResponse(NativeTaskList(tasks: page.tasks.map { NativeTaskRepresentation($0, baseURL: base) }, nextCursor: page.nextCursor))
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await JSONBody.read(request, context: context, allowed: Self.createFields)
        var new = NewTask(commandType: try body.string("commandType", required: true, maxLength: 128) ?? "")
        new.description = try body.string("description")
        new.params = try body.json("params")
        new.objectName = try body.string("objectName", maxLength: 256)
        // Redis Software node uids are strings in some answers and numbers in others: take either.
        // (Asking for a string first would refuse a number before the integer fallback ran.)
        if case .number? = body.fields["nodeUid"] {
            new.nodeUid = try body.integer("nodeUid").map(String.init)
        } else {
            new.nodeUid = try body.string("nodeUid", maxLength: 256)
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
        new.uniqueKey = try body.string("uniqueKey", maxLength: 256)
        new.idempotencyKey = request.headers[HTTPField.Name("Idempotency-Key")!]
        let created = try await services.store.create(new)
        let task: TaskRecord
        if let fresh = created.task { task = fresh } else { task = try await services.task(created.id) }
        let base = baseURL(of: request)
        return try jsonResponse(NativeTaskRepresentation(task, baseURL: base), status: created.replayed ? .ok : .accepted,
                                headers: [.location: "\(base)/v1/tasks/\(task.id)", .eTag: "\"\(task.version)\""])
    }

    /// `ETag` is the task's version. With `If-None-Match` and `Prefer: wait=<s>` (≤ 60) it answers
    /// the moment the task changes, or 304 at the deadline.
    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try request.parameter("taskId", context)
        let known = request.headers[.ifNoneMatch].map(Self.entityTags) ?? []
        let wait = try Self.preferredWait(request.headers[HTTPField.Name("Prefer")!])
        guard !known.isEmpty, let wait else { return try await answer(id, request: request, known: known) }
        let deadline = ContinuousClock.now + .seconds(wait)
        while true {
            // Subscribe before reading, so a change in between still wakes the wait.
            let subscription = try await hub.subscribe(to: id)
            defer { hub.unsubscribe(subscription, from: id) }
            let response = try await answer(id, request: request, known: known)
            let remaining = deadline - ContinuousClock.now
            guard response.status == .notModified, remaining > .zero else { return response }
            _ = await hub.waitForEvents(on: subscription, timeout: remaining)
        }
    }

    private func answer(_ id: String, request: Request, known: [String]) async throws -> Response {
        let task = try await services.task(id)
        let etag = "\"\(task.version)\""
        if known.contains(etag) || known.contains("*") {
            return Response(status: .notModified, headers: [.eTag: etag])
        }
        return try jsonResponse(NativeTaskRepresentation(task, baseURL: baseURL(of: request)), headers: [.eTag: etag])
    }

    static func entityTags(_ header: String) -> [String] {
        header.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.map { $0.hasPrefix("W/") ? String($0.dropFirst(2)) : $0 }
    }

    /// Seconds from `Prefer: wait=<s>`; nil without one; 400 when out of range.
    static func preferredWait(_ header: String?) throws -> Int? {
        guard let header else { return nil }
        for preference in header.split(separator: ",") {
            let parts = preference.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, parts[0].lowercased() == "wait" else { continue }
            guard let seconds = Int(parts[1]), (0...maximumWait).contains(seconds) else {
                throw APIError.badRequest("invalid_header", "Prefer: wait must be whole seconds from 0 to \(maximumWait).")
            }
            return seconds
        }
        return nil
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try request.parameter("taskId", context)
        guard TaskID.isValid(id) else { throw APIError.taskNotFound(id) }
        try await services.store.delete(id)
        return Response(status: .noContent)
    }

    @Sendable func cancel(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try request.parameter("taskId", context)
        guard TaskID.isValid(id) else { throw APIError.taskNotFound(id) }
        _ = try await services.store.cancel(id, force: try request.flag("force"))
        let task = try await services.task(id)
        return try jsonResponse(NativeTaskRepresentation(task, baseURL: baseURL(of: request)), headers: [.eTag: "\"\(task.version)\""])
    }

    @Sendable func dismiss(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try request.parameter("taskId", context)
        guard TaskID.isValid(id) else { throw APIError.taskNotFound(id) }
        try await services.store.dismiss(id)
        return Response(status: .noContent)
    }
}

struct NativeTaskList: Encodable, Sendable {
    var tasks: [NativeTaskRepresentation]
    var nextCursor: String?
}
