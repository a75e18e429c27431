import CoreMetrics
import HTTPTypes
import Synchronization

/// How much work one replica takes on at once (issue 17, scenario 9). Without a bound, twice the
/// load a replica can serve makes every request wait behind every other: latency climbs for as long
/// as the overload lasts, clients time out and retry, and their retries add to it. With one, the
/// excess is answered at once — 503 `overloaded` with `Retry-After: 1`, in the route's dialect,
/// before authentication or any Redis call — and what is admitted runs at normal speed.
///
/// - At most `maxRequestsInFlight` requests run at once; a request counts from its route's start
///   to its answer.
/// - A new task is admitted only while fewer than three quarters of that are in flight: the last
///   quarter is kept for work on tasks that exist (claims, heartbeats, completions, reads, cancels),
///   so an overload of creates never starves the workers that drain the queue.
/// - Health checks, `/metrics`, the dashboard's static files and SSE streams are never refused: they
///   cost no Redis work or are bounded by their own limits (connections, watchers). A long-poll
///   (a claim with `waitSeconds`, a Redis Cloud `Prefer: wait`) leaves the count when it starts to
///   wait: a thousand idle workers polling must not shut out real work.
public struct RequestLimits: Sendable, Hashable {
    public var maxRequestsInFlight: Int

    public static let defaultMaxRequestsInFlight = 256

    public init(maxRequestsInFlight: Int = RequestLimits.defaultMaxRequestsInFlight) {
        self.maxRequestsInFlight = maxRequestsInFlight
    }

    /// New tasks are refused from this many requests in flight on.
    var newWorkLimit: Int { max(1, maxRequestsInFlight * 3 / 4) }
}

/// Which share of the in-flight limit a route may use.
enum AdmissionClass: String, Sendable {
    /// Never refused (see ``RequestLimits``).
    case exempt
    /// Creates a task: admitted below three quarters of the limit.
    case newWork = "new_work"
    /// Everything else: admitted below the limit.
    case regular

    static let exemptRoutes: Set<String> = [
        "GET /health/live", "GET /health/ready", "GET /metrics", "GET /ui", "GET /ui/app.js", "GET /ui/app.css",
        "GET /v1/events", "GET /v1/tasks/{taskId}/events",
    ]
    static let newWorkRoutes: Set<String> = ["POST /v1/tasks"]

    static func of(_ method: HTTPRequest.Method, _ path: String) -> AdmissionClass {
        let route = "\(method.rawValue) \(path)"
        if exemptRoutes.contains(route) { return .exempt }
        return newWorkRoutes.contains(route) ? .newWork : .regular
    }
}

/// The requests in flight on this replica, shared by every route.
final class AdmissionControl: Sendable {
    let limits: RequestLimits
    private let inFlight = Atomic<Int>(0)
    private let shedNewWork = Counter(label: "taskd_http_requests_shed_total", dimensions: [("class", AdmissionClass.newWork.rawValue)])
    private let shedRegular = Counter(label: "taskd_http_requests_shed_total", dimensions: [("class", AdmissionClass.regular.rawValue)])

    init(limits: RequestLimits) {
        self.limits = limits
    }

    var current: Int { inFlight.load(ordering: .relaxed) }

    /// A ticket for one request, or nil when it must be refused (counted in
    /// `taskd_http_requests_shed_total`). An exempt route's ticket counts nothing.
    func admit(_ admission: AdmissionClass) -> AdmissionTicket? {
        if admission == .exempt { return AdmissionTicket(control: nil) }
        let bound = admission == .newWork ? limits.newWorkLimit : limits.maxRequestsInFlight
        let count = inFlight.add(1, ordering: .relaxed).newValue
        guard count <= bound else {
            inFlight.subtract(1, ordering: .relaxed)
            (admission == .newWork ? shedNewWork : shedRegular).increment()
            return nil
        }
        return AdmissionTicket(control: self)
    }

    fileprivate func leave() { inFlight.subtract(1, ordering: .relaxed) }

    /// The answer to a refused request, in the route's dialect.
    func refusal(_ admission: AdmissionClass) -> APIError {
        let message = admission == .newWork
            ? "taskd is refusing new tasks: \(limits.newWorkLimit) of its \(limits.maxRequestsInFlight) requests in flight are taken, and the rest is kept for work on existing tasks. Retry after 1 s."
            : "taskd has \(limits.maxRequestsInFlight) requests in flight, its limit. Retry after 1 s."
        return APIError(.serviceUnavailable, "overloaded", message, headers: [.retryAfter: "1"])
    }
}

/// One admitted request's place in the count, given back once: when it is answered, or earlier
/// when it starts a long wait (``release()``).
public final class AdmissionTicket: Sendable {
    private let control: AdmissionControl?
    private let held: Atomic<Bool>

    fileprivate init(control: AdmissionControl?) {
        self.control = control
        held = Atomic(control != nil)
    }

    public func release() {
        if held.exchange(false, ordering: .relaxed) { control?.leave() }
    }

    deinit { release() }
}
