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
        var problems: [String]?
    }

    @Sendable func live(_ request: Request, context: AppRequestContext) async throws -> Response {
        try jsonResponse(Health(status: "ok"))
    }

    /// Ready when Redis (every master of a cluster) answers and knows every lifecycle script.
    @Sendable func ready(_ request: Request, context: AppRequestContext) async throws -> Response {
        var problems: [String]
        do {
            problems = try await services.store.checkReadiness()
        } catch {
            return try jsonResponse(Health(status: "unavailable", problems: ["Redis is not reachable: \(APIError(error).message)"]), status: .serviceUnavailable)
        }
        if let problem = hub.configurationProblem {
            // Serving works, but watchers only learn of changes by polling: ready, with the reason.
            problems.append(problem)
        }
        return try jsonResponse(Health(status: "ok", problems: problems.isEmpty ? nil : problems))
    }
}
