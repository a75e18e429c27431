import HTTPTypes
import Hummingbird
import ServiceLifecycle
import TaskEngine
import TaskEvents

/// Redis Cloud tasks (seed 003) at their documented paths: `GET /v1/tasks` and
/// `GET /v1/tasks/{taskId}`, with taskd's filters, cursor paging and the `ETag` long-poll on top.
/// Redis Cloud's representation is taskd's native one (``NativeTaskRepresentation``), and its error
/// body (`{"type", "status", "description"}`) is the native routes' too.
struct CloudTasksController {
    let services: APIServices
    let hub: TaskChangeHub

    /// Longest `Prefer: wait=<s>` long-poll.
    static let maximumWait = 60

    var endpoints: [Endpoint] {
        [
            Endpoint(.get, "/v1/tasks", .read, .cloud, list),
            Endpoint(.get, "/v1/tasks/{taskId}", .read, .cloud, get),
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
        let base = services.origin.baseURL(of: request, context: context)
        return jsonResponse(NativeTaskList(tasks: page.tasks.map { NativeTaskRepresentation($0, baseURL: base) }, nextCursor: page.nextCursor))
    }

    /// `ETag` is the task's version. With `If-None-Match` and `Prefer: wait=<s>` (≤ 60) it answers
    /// the moment the task changes, or 304 at the deadline.
    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try request.taskID(context)
        let known = request.headers[.ifNoneMatch].map(Self.entityTags) ?? []
        let wait = try Self.preferredWait(request.headers[HTTPField.Name("Prefer")!])
        guard !known.isEmpty, let wait else { return try await answer(id, request: request, context: context, known: known) }
        let deadline = ContinuousClock.now + .seconds(wait)
        // A long-poll mostly waits: it leaves the in-flight count, or idle pollers would fill it.
        context.admission?.release()
        // Graceful shutdown answers a waiting poll at once with what the task is now.
        return try await cancelWhenGracefulShutdown {
            try await self.poll(id, request: request, context: context, known: known, until: deadline)
        }
    }

    private func poll(_ id: TaskID, request: Request, context: AppRequestContext, known: [String], until deadline: ContinuousClock.Instant) async throws -> Response {
        while true {
            // Subscribe before reading, so a change in between still wakes the wait.
            let subscription = try await hub.subscribe(to: id.text)
            defer { hub.unsubscribe(subscription, from: id.text) }
            let response = try await answer(id, request: request, context: context, known: known)
            let remaining = deadline - ContinuousClock.now
            guard response.status == .notModified, remaining > .zero, !Task.isCancelled else { return response }
            _ = await hub.waitForEvents(on: subscription, timeout: remaining)
        }
    }

    private func answer(_ id: TaskID, request: Request, context: AppRequestContext, known: [String]) async throws -> Response {
        let task = try await services.task(id)
        let etag = "\"\(task.version)\""
        if known.contains(etag) || known.contains("*") {
            return Response(status: .notModified, headers: [.eTag: etag])
        }
        return jsonResponse(NativeTaskRepresentation(task, baseURL: services.origin.baseURL(of: request, context: context)), headers: [.eTag: etag])
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
}

struct NativeTaskList: JSONWritable, Sendable {
    var tasks: [NativeTaskRepresentation]
    var nextCursor: String?

    func writeJSON(to json: inout JSONWriter) {
        json.object { json in
            json.field("tasks", tasks)
            json.field("nextCursor", nextCursor)
        }
    }
}
