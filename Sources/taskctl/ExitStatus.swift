import ArgumentParser

/// taskctl's exit codes: the contract scripts rely on (README, "taskctl"). Usage errors are
/// ArgumentParser's 64 (EX_USAGE).
enum ExitStatus: Int32, CaseIterable {
    case success = 0
    /// Anything not listed below: a 5xx other than 503, an answer taskctl cannot read.
    case failure = 1
    /// `watch`: the task ended `failed` or `dismissed`.
    case taskFailed = 2
    /// `watch`: the task ended `cancelled`.
    case taskCancelled = 3
    /// `watch`: the event stream broke and could not be resumed within `--reconnect-for`.
    case connectionLost = 4
    /// taskd could not be reached at all (refused, unknown host, timed out).
    case unreachable = 5
    /// 401: no, or wrong, credentials.
    case unauthorized = 6
    /// 403: the key's role may not do this.
    case forbidden = 7
    /// 404: no such task or key.
    case notFound = 8
    /// 409: not in a state that allows it (dismissing a running task, deleting the last admin key, …).
    case conflict = 9
    /// 429: too many failed authentications from here or for this key; wait a minute.
    case throttled = 10
    /// 503: taskd is up but its Redis is not reachable; retry shortly.
    case unavailable = 11
    /// Another 4xx: taskd refused the request as given (400 bad input, 406 commit phase without --force, …).
    case refused = 12
    case usage = 64

    var exitCode: ExitCode { ExitCode(rawValue) }

    /// The status an HTTP error answer maps to.
    static func forHTTPStatus(_ code: Int) -> ExitStatus {
        switch code {
        case 401: .unauthorized
        case 403: .forbidden
        case 404: .notFound
        case 409: .conflict
        case 429: .throttled
        case 503: .unavailable
        case 400..<500: .refused
        default: .failure
        }
    }
}

/// What went wrong, as one line for standard error, with the exit status it ends taskctl with.
/// Messages are built from the answer's status and description only, so a credential can never
/// appear in one.
struct TaskctlFailure: Error, CustomStringConvertible {
    var status: ExitStatus
    var message: String
    /// The HTTP status when taskd answered.
    var httpStatus: Int?

    init(_ status: ExitStatus, _ message: String, httpStatus: Int? = nil) {
        self.status = status
        self.message = message
        self.httpStatus = httpStatus
    }

    var description: String { message }
}
