/// Why the engine refused a call. Redis being unreachable is not one of these: that surfaces as the
/// `RedisClientError` it is, so callers can answer 503 rather than 4xx.
public struct TaskEngineError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Sendable {
            case notFound, wrongStatus, staleLease, notCancellable, duplicateUnique, alreadyExists
            case invalidArgument, invalidConfiguration, unexpectedReply, lastAdminKey
        }
        fileprivate let base: Base

        /// No such task: unknown, deleted or expired (404).
        public static let notFound = Code(base: .notFound)
        /// The transition is not legal from the task's current status (409).
        public static let wrongStatus = Code(base: .wrongStatus)
        /// The lease token is not the task's current one: the caller lost its lease (409).
        public static let staleLease = Code(base: .staleLease)
        /// The worker declared its commit phase; cancel needs `force` (406).
        public static let notCancellable = Code(base: .notCancellable)
        /// The API key is the only admin key: deleting it would lock everyone out (409).
        public static let lastAdminKey = Code(base: .lastAdminKey)
        /// An unfinished task already holds the uniqueKey (409; `taskId` names it).
        public static let duplicateUnique = Code(base: .duplicateUnique)
        /// A task with this id exists already (409).
        public static let alreadyExists = Code(base: .alreadyExists)
        /// An argument is out of range or malformed (400); nothing was sent to Redis.
        public static let invalidArgument = Code(base: .invalidArgument)
        /// The engine's own settings are unusable.
        public static let invalidConfiguration = Code(base: .invalidConfiguration)
        /// A script answered in a shape the engine does not know: a bug, never a user's fault.
        public static let unexpectedReply = Code(base: .unexpectedReply)

        public var description: String { base.rawValue }
    }

    public var code: Code
    public var message: String
    /// The task's status when the refusal depended on it.
    public var status: TaskStatus?
    /// The task the error is about (for `duplicateUnique`: the task holding the key).
    public var taskId: String?

    public init(_ code: Code, _ message: String, status: TaskStatus? = nil, taskId: String? = nil) {
        self.code = code
        self.message = message
        self.status = status
        self.taskId = taskId
    }

    public var description: String { "\(code): \(message)" }
}
