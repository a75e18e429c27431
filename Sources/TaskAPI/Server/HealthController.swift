import Hummingbird
import TaskEngine
import TaskEvents

/// Liveness and readiness, open to all (load balancers and orchestrators call them).
struct HealthController {
    let services: APIServices
    let hub: TaskChangeHub

    var endpoints: [Endpoint] {
        [
            Endpoint(.get, "/health/live", .open, .native, live),
            Endpoint(.get, "/health/ready", .open, .native, ready),
        ]
    }

    struct Health: Encodable {
        var status: String
        /// Which Redis master serves, when it can change (Redis Sentinel).
        var redis: String?
        var problems: [String]?
    }

    @Sendable func live(_ request: Request, context: AppRequestContext) async throws -> Response {
        try jsonResponse(Health(status: "ok"))
    }

    /// Ready when Redis (every master of a cluster) answers and knows every lifecycle script.
    @Sendable func ready(_ request: Request, context: AppRequestContext) async throws -> Response {
        let readiness: StoreReadiness
        do {
            readiness = try await services.store.checkReadiness()
        } catch let error as StoreNotReady {
            return try jsonResponse(Health(status: "unavailable", problems: [error.message]), status: .serviceUnavailable)
        } catch {
            return try jsonResponse(Health(status: "unavailable", problems: ["Redis is not reachable: \(APIError(error).message)"]), status: .serviceUnavailable)
        }
        var problems = readiness.notes
        if let problem = hub.configurationProblem {
            // Serving works, but watchers only learn of changes by polling: ready, with the reason.
            problems.append(problem)
        }
        return try jsonResponse(Health(status: "ok", redis: readiness.master, problems: problems.isEmpty ? nil : problems))
    }
}
