import Hummingbird
import RESP
import RedisClient
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
        let scripts = services.store.scripts.all
        var problems: [String] = []
        do {
            var missing = 0
            for node in try await services.store.redis.masters() {
                let reply = try await node.pool.send(RedisCommand("SCRIPT", ["EXISTS"] + scripts.map { .string($0.sha1) }))
                missing += zip(scripts, reply.array ?? []).filter { $0.1.int != 1 }.count
            }
            if missing > 0 {
                // Load them now: a Redis restart, a failover or SCRIPT FLUSH dropped them.
                try await services.store.loadScripts()
                problems.append("Redis had lost \(missing) lifecycle scripts; they were loaded again.")
            }
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
