import CoreMetrics
import Hummingbird
import Synchronization

/// Counts and times every answer by route template (never the raw path: ids would make a series
/// each), method, status class and dialect. A request no route took counts as route `unmatched`.
struct HTTPMetricsMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    static let requests = "taskd_http_requests_total"
    static let duration = "taskd_http_request_duration_seconds"

    /// Hummingbird's name of a route (`RouterPath.description`) → our template and the route's dialect.
    private let routes: [String: (template: String, dialect: Dialect)]
    private let handles = Handles()
    /// Methods counted by name; any other token a client sends counts as `other`.
    static let methods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    init(endpoints: [Endpoint]) {
        var routes: [String: (template: String, dialect: Dialect)] = [:]
        for endpoint in endpoints { routes[RouterPath(endpoint.path).description] = (endpoint.path, endpoint.dialect) }
        self.routes = routes
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            record(request, context, status: response.status.code, since: start)
            return response
        } catch {
            record(request, context, status: (error as? any HTTPResponseError)?.status.code ?? 500, since: start)
            throw error
        }
    }

    private func record(_ request: Request, _ context: Context, status: Int, since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let route = context.endpointPath.flatMap { routes[$0] }
        let template = route?.template ?? "unmatched"
        let dialect = route?.dialect.rawValue ?? "none"
        let method = Self.methods.contains(request.method.rawValue) ? request.method.rawValue : "other"
        let statusClass = "\(status / 100)xx"
        let key = "\(method) \(template) \(statusClass)"
        let (counter, timer) = handles.made.withLock { handles in
            if let known = handles[key] { return known }
            let made = (
                Counter(label: Self.requests, dimensions: [("route", template), ("method", method), ("status_class", statusClass), ("dialect", dialect)]),
                Timer(label: Self.duration, dimensions: [("route", template), ("method", method), ("dialect", dialect)]))
            handles[key] = made
            return made
        }
        counter.increment()
        timer.recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }
}

extension HTTPMetricsMiddleware {
    /// The counter and timer of each (method, route, status class), made once.
    final class Handles: Sendable {
        let made = Mutex<[String: (Counter, Timer)]>([:])
    }
}
