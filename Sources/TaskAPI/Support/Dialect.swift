/// The API a route belongs to: taskd's own, or one of the four public APIs it serves at their
/// documented paths. Each has its folder under `Dialects/` with its controller and representation.
public enum Dialect: String, Sendable, CaseIterable {
    /// taskd's own routes: create, cancel, workers, watching, API keys, health.
    case native
    /// Redis Cloud tasks (seed 003): `GET /v1/tasks[/{taskId}]`.
    case cloud
    /// Redis Software actions (seeds 000, 001).
    case softwareActions
    /// Redis Software CRDB tasks (seed 004).
    case crdbTasks
    /// kAPI actions (seed 002).
    case kapi

    /// How this dialect's errors look: the shape its seed documents.
    public var errorBodyStyle: ErrorBodyStyle {
        switch self {
        case .native, .cloud: .cloud
        case .softwareActions, .crdbTasks: .software
        case .kapi: .kapi
        }
    }
}

/// The shape of an error body. taskd's own routes use Redis Cloud's.
public enum ErrorBodyStyle: String, Sendable, CaseIterable {
    /// Redis Cloud: `{"type", "status", "description"}`.
    case cloud
    /// Redis Software actions and CRDB tasks: `{"error_code", "description"}`.
    case software
    /// kAPI: `{"code", "message"}`.
    case kapi
}
