/// Which tasks ``TaskStore/list(_:)`` returns: every filter given must match. Results come newest
/// update first (ties by id), a page at a time.
public struct TaskQuery: Sendable, Hashable {
    public var statuses: Set<TaskStatus>?
    public var commandType: String?
    public var objectName: String?
    public var kind: TaskKind?
    /// Only tasks updated at or after this time (ms).
    public var updatedSince: Int64?
    public var limit: Int
    /// From ``TaskPage/nextCursor`` of the previous page.
    public var cursor: String?

    public static let limitRange = 1...1000

    public init(
        statuses: Set<TaskStatus>? = nil, commandType: String? = nil, objectName: String? = nil, kind: TaskKind? = nil,
        updatedSince: Int64? = nil, limit: Int = 100, cursor: String? = nil
    ) {
        self.statuses = statuses
        self.commandType = commandType
        self.objectName = objectName
        self.kind = kind
        self.updatedSince = updatedSince
        self.limit = limit
        self.cursor = cursor
    }

    func matches(_ task: TaskRecord) -> Bool {
        if let statuses, !statuses.contains(task.status) { return false }
        if let commandType, task.commandType != commandType { return false }
        if let objectName, task.objectName != objectName { return false }
        if let kind, task.kind != kind { return false }
        if let updatedSince, task.updatedAt < updatedSince { return false }
        return true
    }
}

/// One page of a listing.
public struct TaskPage: Sendable, Hashable {
    public var tasks: [TaskRecord]
    /// Pass it as ``TaskQuery/cursor`` for the next page; nil when there is none. A page may hold
    /// fewer than `limit` tasks (a scan of the index is bounded per call) and still have a next one.
    public var nextCursor: String?
}

/// A position in the update-time order: `<updatedAt>:<id>`, the last entry a page looked at.
struct ListCursor: Hashable, Comparable {
    var updatedAt: Int64
    var id: String

    init(updatedAt: Int64, id: String) {
        self.updatedAt = updatedAt
        self.id = id
    }

    init(_ text: String) throws {
        let parts = text.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let updatedAt = Int64(parts[0]), TaskID.isValid(String(parts[1])) else {
            throw TaskEngineError(.invalidArgument, "the cursor \"\(text.prefix(80))\" is not one this service returned; start again without a cursor")
        }
        self.init(updatedAt: updatedAt, id: String(parts[1]))
    }

    var text: String { "\(updatedAt):\(id)" }

    /// Listing order is descending, so "less" means "listed later".
    static func < (a: ListCursor, b: ListCursor) -> Bool {
        (a.updatedAt, a.id) < (b.updatedAt, b.id)
    }
}
