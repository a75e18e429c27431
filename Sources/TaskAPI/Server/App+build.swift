import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import TaskEngine
import TaskEvents

/// Every route of taskd, dialect by dialect; the dashboard's session cookie is accepted on the ones
/// the page calls (``DashboardController/pageRoutes``).
func allEndpoints(_ services: APIServices, hub: TaskChangeHub, metrics: MetricsExport? = nil) -> [Endpoint] {
    let endpoints: [Endpoint] = HealthController(services: services, hub: hub).endpoints
        + MetricsController(services: services, export: metrics).endpoints
        + CloudTasksController(services: services, hub: hub).endpoints
        + NativeTasksController(services: services).endpoints
        + WatchController(services: services, hub: hub).endpoints
        + WorkersController(services: services).endpoints
        + SoftwareActionsController(services: services).endpoints
        + CRDBTasksController(services: services).endpoints
        + KAPIActionsController(services: services).endpoints
        + APIKeysController(services: services).endpoints
        + KeyspaceController(services: services).endpoints
        + [OpenAPIDocument.endpoint]
        + DashboardController(services: services).endpoints
    return endpoints.map { endpoint in
        var endpoint = endpoint
        endpoint.acceptsSession = DashboardController.pageRoutes.contains("\(endpoint.method.rawValue) \(endpoint.path)")
        return endpoint
    }
}

/// The router: each endpoint behind authentication and its dialect's error rendering.
/// With `metrics`, `/metrics` serves them and every answer is counted; without, it answers 404.
/// With `tracing`, every request is a span (of the caller's trace when it sends `traceparent`).
public func buildRouter(
    store: TaskStore, keys: APIKeyStore, hub: TaskChangeHub, origin: RequestOrigin = RequestOrigin(),
    throttleLimits: AuthThrottleLimits = AuthThrottleLimits(), sessionLifetime: Duration = .seconds(28_800),
    requestLimits: RequestLimits = RequestLimits(lagTarget: nil), logger: Logger, metrics: MetricsExport? = nil, tracing: Bool = false
) -> Router<AppRequestContext> {
    buildRouter(store: store, keys: keys, hub: hub, origin: origin, throttleLimits: throttleLimits, sessionLifetime: sessionLifetime,
                admission: AdmissionControl(limits: requestLimits), logger: logger, metrics: metrics, tracing: tracing)
}

func buildRouter(
    store: TaskStore, keys: APIKeyStore, hub: TaskChangeHub, origin: RequestOrigin, throttleLimits: AuthThrottleLimits,
    sessionLifetime: Duration, admission: AdmissionControl, logger: Logger, metrics: MetricsExport?, tracing: Bool
) -> Router<AppRequestContext> {
    let services = APIServices(store: store, keys: keys, authenticator: Authenticator(keys: keys, store: store, throttleLimits: throttleLimits),
                               origin: origin, sessionLifetime: sessionLifetime, logger: logger)
    let endpoints = allEndpoints(services, hub: hub, metrics: metrics)
    let router = Router(context: AppRequestContext.self)
    router.addMiddleware {
        RequestIDMiddleware()
    }
    if metrics != nil {
        router.addMiddleware {
            HTTPMetricsMiddleware(endpoints: endpoints)
        }
    }
    if tracing {
        router.addMiddleware {
            TracingMiddleware()
        }
    }
    router.addMiddleware {
        UnroutedRequestMiddleware(endpoints: endpoints)
    }
    let audit = AuditTrail(log: store.audit)
    admission.register(endpoints)
    metrics?.reportRequestsInFlight { (admission.current, admission.limit) }
    for endpoint in endpoints {
        let admissionClass = AdmissionClass.of(endpoint)
        router.on(RouterPath(endpoint.path), method: endpoint.method) { request, context in
            // First, before credentials cost a Redis call: past the limit the answer is all the work.
            guard let ticket = admission.admit(admissionClass) else {
                return admission.refusal(admissionClass).response(in: endpoint.dialect)
            }
            defer { ticket.release() }
            var context = context
            context.admission = ticket
            let source = services.origin.clientAddress(of: request, context: context)
            do {
                (context.apiKey, context.session) = try await services.authenticator.authenticate(
                    request.headers, for: endpoint.access, acceptsSession: endpoint.acceptsSession,
                    changesState: AuditTrail.changingMethods.contains(request.method), source: source)
                try Authenticator.authorize(context.apiKey, for: endpoint.access)
                if let refusal = RequestMediaType.refusal(request) { throw refusal }
                let response = try await endpoint.handler(request, context)
                audit.record(endpoint, request, context, source: source, status: response.status.code, error: "")
                return response
            } catch {
                var answer = APIError(error)
                // A Basic challenge would make a browser open its own login dialog over the page's.
                if DashboardController.isFromPage(request) { answer.headers[.wwwAuthenticate] = nil }
                if answer.status.code >= 500 {
                    logger.error("request failed", metadata: [
                        "http.method": "\(request.method)", "http.path": "\(request.uri.path)", "error": "\(error)",
                    ])
                }
                audit.record(endpoint, request, context, source: source, status: answer.status.code, error: answer.code)
                return answer.response(in: endpoint.dialect)
            }
        }
    }
    return router
}

/// Answers what no route took: a known path with another method is 405 with `Allow` (Hummingbird
/// would say 404); an unknown path is a JSON 404.
struct UnroutedRequestMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let endpoints: [Endpoint]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let segments = Substring(request.uri.path).split(separator: "/")
            let fitting = endpoints.filter { $0.matches(segments: segments) }
            guard let first = fitting.first else {
                return APIError(.notFound, "not_found", "No route \(request.uri.path.prefix(200)); see /openapi.json.").response(in: .native)
            }
            let allow = Array(Set(fitting.map(\.method.rawValue))).sorted().joined(separator: ", ")
            return APIError(.methodNotAllowed, "method_not_allowed", "\(request.method.rawValue) is not allowed here; use \(allow).",
                            headers: [.allow: allow]).response(in: first.dialect)
        }
    }
}

/// The HTTP application: the router plus the engine's services, shut down gracefully on SIGTERM.
/// Every connection passes a `ConnectionGuard` (limits and timeouts, see `ConnectionLimits`).
public func buildApplication(
    host: String, port: Int, store: TaskStore, keys: APIKeyStore, hub: TaskChangeHub, services: [any Service],
    limits: ConnectionLimits = ConnectionLimits(), requestLimits: RequestLimits = RequestLimits(), origin: RequestOrigin = RequestOrigin(),
    sessionLifetime: Duration = .seconds(28_800), logger: Logger,
    metrics: MetricsExport? = nil, tracing: Bool = false
) -> some ApplicationProtocol {
    let count = ConnectionCount()
    let eventLoops = MultiThreadedEventLoopGroup.singleton
    let admission = AdmissionControl(limits: requestLimits, eventLoops: eventLoops)
    return Application(
        router: buildRouter(store: store, keys: keys, hub: hub, origin: origin, throttleLimits: AuthThrottleLimits(),
                            sessionLifetime: sessionLifetime, admission: admission, logger: logger, metrics: metrics, tracing: tracing),
        server: .http1(configuration: .init(
            additionalChannelHandlers: [ConnectionGuard(count: count, limits: limits, admission: admission)],
            idleTimeout: .nanoseconds(limits.idleTimeout.nanoseconds))),
        configuration: .init(
            address: .hostname(host, port: port), serverName: "taskd",
            availableConnectionsDelegate: .maximum(limits.maxConnections + ConnectionLimits.refusalMargin, logger: logger)),
        services: services,
        eventLoopGroupProvider: .shared(eventLoops),
        logger: logger)
}
