/// What a handler throws to fail its task with a code and a message a person can act on.
/// `retryable` failures are re-queued with backoff while attempts remain; others fail at once.
/// Any other error a handler throws fails the task as retryable with code `handler_error`.
public struct TaskFailure: Error, Sendable, CustomStringConvertible {
    public var code: String
    public var message: String
    public var retryable: Bool

    public init(_ code: String, _ message: String, retryable: Bool = true) {
        self.code = code
        self.message = message
        self.retryable = retryable
    }

    public var description: String { "\(code): \(message)" }
}

/// Why a report from a handler was refused.
public struct TaskWorkerError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The lease is gone (fenced by a forced cancel, re-queued after it ran out, finished):
        /// this attempt must stop, and nothing it does is written any more.
        case leaseLost
    }

    public var code: Code
    public var message: String

    public var description: String { "\(code.rawValue): \(message)" }
}
