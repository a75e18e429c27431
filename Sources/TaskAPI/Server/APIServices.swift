import Hummingbird
import Logging
import TaskEngine

/// What every controller works with.
struct APIServices: Sendable {
    let store: TaskStore
    let keys: APIKeyStore
    let authenticator: Authenticator
    var origin = RequestOrigin()
    /// How long a dashboard login lasts (`TASKD_SESSION_TTL`).
    var sessionLifetime = DashboardController.defaultSessionLifetime
    let logger: Logger

    /// The task, or 404 in the route's dialect.
    func task(_ id: TaskID) async throws -> TaskRecord {
        guard let task = try await store.get(id.text) else { throw APIError.taskNotFound(id.text) }
        return task
    }

    /// Every task matching `query`, newest update first, at most `cap` of them.
    func allTasks(_ query: TaskQuery, cap: Int = 1000) async throws -> [TaskRecord] {
        var query = query
        var tasks: [TaskRecord] = []
        repeat {
            query.limit = min(TaskQuery.limitRange.upperBound, cap - tasks.count)
            let page = try await store.list(query)
            tasks += page.tasks
            query.cursor = page.nextCursor
        } while query.cursor != nil && tasks.count < cap
        return tasks
    }
}

extension Request {
    /// A path parameter that the route template guarantees.
    func parameter(_ name: String, _ context: AppRequestContext) throws -> String {
        guard let value = context.parameters.get(name) else {
            throw APIError(.notFound, "not_found", "The path lacks \(name).")
        }
        return value
    }

    /// The task id in path parameter `name`, parsed once for the whole route: an id taskd never
    /// made is a 404 in the route's dialect without asking Redis.
    func taskID(_ context: AppRequestContext, _ name: String = "taskId") throws -> TaskID {
        let text = try parameter(name, context)
        guard let id = TaskID(text) else { throw APIError.taskNotFound(text) }
        return id
    }

    /// `?name=true|false|1|0`; absent is false; anything else is a 400.
    func flag(_ name: String) throws -> Bool {
        guard let value = uri.queryParameters.get(name) else { return false }
        switch value.lowercased() {
        case "true", "1", "": return true
        case "false", "0": return false
        default: throw APIError.badRequest("invalid_parameter", "\(name) must be true or false.")
        }
    }
}
