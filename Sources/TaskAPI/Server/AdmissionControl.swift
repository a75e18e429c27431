import CoreMetrics
import HTTPTypes
import NIOCore
import Synchronization

/// How much work one replica takes on at once (issue 17, scenario 9). Without a bound, twice the
/// load a replica can serve makes every request wait behind every other: latency climbs for as long
/// as the overload lasts, health checks time out (HAProxy then takes every replica out at once),
/// clients time out and retry, and their retries add to it. With one, the excess is answered at
/// once — 503 `overloaded` with `Retry-After: 1`, in the route's dialect, before authentication or
/// any Redis call — and what is admitted runs at normal speed.
///
/// - At most `limit` requests run at once; a request counts from its route's start to its answer.
///   The limit adapts (with `lagTarget` set) to what this replica can serve: a monitor task sleeps
///   50 ms at a time and measures how late it wakes, which is how long ready work waits for a
///   thread of the concurrency pool, and a repeated task on each event loop does the same there. Every 250 ms, when that lag averaged more than the target, the
///   limit drops by a quarter (never below 4); when requests were refused while the lag stayed under
///   half the target, it grows by an eighth, up to `maxRequestsInFlight`. The signal is the CPU's,
///   not the requests' duration: a slow Redis (a `WAIT` for a lagging replica, a big read) makes
///   requests slow but the pool idle, and must not turn into refusals.
/// - A new task is admitted only while fewer than three quarters of the limit are in flight: the
///   last quarter is kept for work on tasks that exist (claims, heartbeats, completions, reads,
///   cancels), so an overload of creates never starves the workers that drain the queue.
/// - Health checks, `/metrics`, the dashboard's static files and SSE streams are never refused: they
///   cost no Redis work or are bounded by their own limits (connections, watchers). A long-poll
///   (a claim with `waitSeconds`, a Redis Cloud `Prefer: wait`) leaves the count when it starts to
///   wait: a thousand idle workers polling must not shut out real work.
public struct RequestLimits: Sendable, Hashable {
    public var maxRequestsInFlight: Int
    /// nil: the limit stays at `maxRequestsInFlight`.
    public var lagTarget: Duration?

    public static let defaultMaxRequestsInFlight = 256
    public static let defaultLagTarget = Duration.milliseconds(50)
    static let minimumLimit = 4
    static let tick = Duration.milliseconds(50)
    /// Ticks a window has: the limit is reconsidered once a window.
    static let ticksPerWindow = 5

    public init(maxRequestsInFlight: Int = RequestLimits.defaultMaxRequestsInFlight,
                lagTarget: Duration? = RequestLimits.defaultLagTarget) {
        self.maxRequestsInFlight = maxRequestsInFlight
        self.lagTarget = lagTarget
    }

    /// The limit after a window whose mean scheduling lag was `lag` and in which `refused` requests
    /// were turned away.
    func nextLimit(after limit: Int, lag: Duration, refused: Int) -> Int {
        guard let target = lagTarget else { return maxRequestsInFlight }
        if lag > target { return max(min(Self.minimumLimit, maxRequestsInFlight), limit * 3 / 4) }
        if refused > 0 && lag * 2 <= target { return min(maxRequestsInFlight, limit + max(1, limit / 8)) }
        return limit
    }
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

    static func of(_ endpoint: Endpoint) -> AdmissionClass { of(endpoint.method, endpoint.path) }

    static func of(_ method: HTTPRequest.Method, _ path: String) -> AdmissionClass {
        let route = "\(method.rawValue) \(path)"
        if exemptRoutes.contains(route) { return .exempt }
        return newWorkRoutes.contains(route) ? .newWork : .regular
    }
}

/// The requests in flight on this replica and its current limit, shared by every route. Per
/// request: two atomic adds; the limit is reconsidered by the lag monitor (``monitorLag()``).
final class AdmissionControl: Sendable {
    let limits: RequestLimits
    private let inFlight = Atomic<Int>(0)
    private let currentLimit: Atomic<Int>
    /// Requests refused since the monitor last looked.
    private let refused = Atomic<Int>(0)
    private let shedNewWork = Counter(label: "taskd_http_requests_shed_total", dimensions: [("class", AdmissionClass.newWork.rawValue)])
    private let shedRegular = Counter(label: "taskd_http_requests_shed_total", dimensions: [("class", AdmissionClass.regular.rawValue)])

    /// How late the event loops' ticks fired in this window, in all, and how many fired.
    private let loopLateness = Atomic<Int64>(0)
    private let loopTicks = Atomic<Int>(0)

    /// `eventLoops`: the server's, watched as the concurrency pool is (HTTP parsing, early refusals
    /// and every socket write run there; a starved loop delays health checks as much as a starved pool).
    init(limits: RequestLimits, eventLoops: (any EventLoopGroup)? = nil) {
        self.limits = limits
        currentLimit = Atomic(max(1, limits.maxRequestsInFlight))
        if limits.lagTarget != nil {
            startLagMonitor()
            if let eventLoops { watch(eventLoops) }
        }
    }

    /// A repeated task on each loop, `tick` apart from the end of the last: the time between two
    /// runs less `tick` is how long it waited for its thread.
    private func watch(_ eventLoops: any EventLoopGroup) {
        let tick = TimeAmount.nanoseconds(RequestLimits.tick.nanoseconds)
        for loop in eventLoops.makeIterator() {
            // Only this loop's task touches it; atomic because the closure must be Sendable.
            let last = Atomic<UInt64>(NIODeadline.now().uptimeNanoseconds)
            loop.scheduleRepeatedTask(initialDelay: tick, delay: tick) { [weak self] task in
                guard let self else { return task.cancel() }
                let now = NIODeadline.now().uptimeNanoseconds
                let since = Int64(now &- last.exchange(now, ordering: .relaxed))
                loopLateness.add(max(0, since - tick.nanoseconds), ordering: .relaxed)
                loopTicks.add(1, ordering: .relaxed)
            }
        }
    }

    /// Sleeps a tick at a time, at the priority requests run at, and once a window sets the limit
    /// from how late the ticks woke (see ``RequestLimits``). It holds the control only between
    /// sleeps: the monitor of a router that is gone ends with it.
    private func startLagMonitor() {
        Task.detached { [weak self] in
            var late = Duration.zero
            var ticks = 0
            while true {
                let asleep = ContinuousClock.now
                do { try await Task.sleep(for: RequestLimits.tick) } catch { return }
                late += max(.zero, ContinuousClock.now - asleep - RequestLimits.tick)
                ticks += 1
                guard let self else { return }
                guard ticks == RequestLimits.ticksPerWindow else { continue }
                self.windowEnded(lag: late / ticks)
                (late, ticks) = (.zero, 0)
            }
        }
    }

    /// `poolLag`: the pool's mean lag in the window; the loops' is added in here, the worse counts.
    private func windowEnded(lag poolLag: Duration) {
        let ticks = loopTicks.exchange(0, ordering: .relaxed)
        let lateness = loopLateness.exchange(0, ordering: .relaxed)
        let lag = ticks > 0 ? max(poolLag, .nanoseconds(lateness / Int64(ticks))) : poolLag
        let limit = self.limit
        let next = limits.nextLimit(after: limit, lag: lag, refused: refused.exchange(0, ordering: .relaxed))
        if next != limit { currentLimit.store(next, ordering: .relaxed) }
    }

    var current: Int { inFlight.load(ordering: .relaxed) }
    var limit: Int { currentLimit.load(ordering: .relaxed) }
    /// Every route's class and dialect, for ``refusesEarly(_:)``; set once the router is built.
    private let routes = Mutex<[(endpoint: Endpoint, admission: AdmissionClass)]>([])

    func register(_ endpoints: [Endpoint]) {
        routes.withLock { $0 = endpoints.map { ($0, AdmissionClass.of($0)) } }
    }

    /// For ``ConnectionGuard``, on the event loop as a request head arrives: the refusal to write
    /// there and then, when the request would be refused anyway. Answering on the event loop costs
    /// a fraction of a refused route (no task, no router, no middleware), and it keeps the queue of
    /// the concurrency pool to admitted work, so an overloaded replica still answers its health
    /// checks in milliseconds instead of being taken out by its load balancer. Below three quarters
    /// of the limit it is one atomic load.
    func refusesEarly(_ head: HTTPRequest) -> APIError.Rendered? {
        let count = current, limit = self.limit
        guard count >= newWorkLimit(limit) else { return nil }
        let segments = Substring(head.path ?? "/").prefix { $0 != "?" }.split(separator: "/")
        let route = routes.withLock { routes in
            routes.first { $0.endpoint.method == head.method && $0.endpoint.matches(segments: segments) }
        }
        let admission = route?.admission ?? .regular
        guard admission != .exempt, count >= (admission == .newWork ? newWorkLimit(limit) : limit) else { return nil }
        refused.add(1, ordering: .relaxed)
        (admission == .newWork ? shedNewWork : shedRegular).increment()
        return refusal(admission).rendered(in: route?.endpoint.dialect ?? .native)
    }

    /// New tasks are refused from this many requests in flight on.
    private func newWorkLimit(_ limit: Int) -> Int { max(1, limit * 3 / 4) }

    /// A ticket for one request, or nil when it must be refused (counted in
    /// `taskd_http_requests_shed_total`). An exempt route's ticket counts nothing.
    func admit(_ admission: AdmissionClass) -> AdmissionTicket? {
        if admission == .exempt { return AdmissionTicket(control: nil) }
        let limit = self.limit
        let bound = admission == .newWork ? newWorkLimit(limit) : limit
        let count = inFlight.add(1, ordering: .relaxed).newValue
        guard count <= bound else {
            inFlight.subtract(1, ordering: .relaxed)
            refused.add(1, ordering: .relaxed)
            (admission == .newWork ? shedNewWork : shedRegular).increment()
            return nil
        }
        return AdmissionTicket(control: self)
    }

    fileprivate func leave() { inFlight.subtract(1, ordering: .relaxed) }

    /// The answer to a refused request, in the route's dialect.
    func refusal(_ admission: AdmissionClass) -> APIError {
        let limit = self.limit
        let message = admission == .newWork
            ? "taskd is refusing new tasks: \(newWorkLimit(limit)) of the \(limit) requests it runs at once are taken, and the rest is kept for work on existing tasks. Retry after 1 s."
            : "taskd is running \(limit) requests at once, its limit now. Retry after 1 s."
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
