import HTTPTypes
import Hummingbird
import TaskEngine

/// Who may call a route (DESIGN.md §4.4).
public enum Access: String, Sendable, CaseIterable {
    /// No credentials: health checks.
    case open
    /// viewer, operator, admin.
    case read
    /// operator, admin.
    case operate
    /// worker, admin.
    case work
    /// admin.
    case admin

    public func allows(_ role: APIRole) -> Bool {
        switch self {
        case .open: true
        case .read: role != .worker
        case .operate: role == .operator || role == .admin
        case .work: role == .worker || role == .admin
        case .admin: role == .admin
        }
    }
}

/// One route: the single list that registration, authorization, `405 Allow` and the OpenAPI
/// test all read, so they cannot disagree.
public struct Endpoint: Sendable {
    public var method: HTTPRequest.Method
    /// With `{name}` parameters, e.g. `/v1/tasks/{taskId}`.
    public let path: String
    /// `path` split at `/`, once: matching a request (a 404/405 answer, an early admission refusal
    /// on the event loop) then splits only the request's path.
    let template: [Substring]
    public var access: Access
    public var dialect: Dialect
    /// Whether the dashboard's session cookie is a credential here (``DashboardController/pageRoutes``);
    /// everywhere else only the three credential styles of the seeds are.
    public var acceptsSession = false
    public var handler: @Sendable (Request, AppRequestContext) async throws -> Response

    public init(
        _ method: HTTPRequest.Method, _ path: String, _ access: Access, _ dialect: Dialect,
        _ handler: @escaping @Sendable (Request, AppRequestContext) async throws -> Response
    ) {
        self.method = method
        self.path = path
        self.template = path.split(separator: "/")
        self.access = access
        self.dialect = dialect
        self.handler = handler
    }

    /// Whether a concrete request path, split at `/`, fits this endpoint's template.
    func matches(segments: [Substring]) -> Bool {
        guard template.count == segments.count else { return false }
        return zip(template, segments).allSatisfy { pattern, segment in pattern.hasPrefix("{") || pattern == segment }
    }
}
