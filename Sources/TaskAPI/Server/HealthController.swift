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

    struct Health: JSONWritable {
        var status: String
        /// Which Redis master serves, when it can change (Redis Sentinel).
        var redis: String?
        var problems: [String]?

        func writeJSON(to json: inout JSONWriter) {
            json.object { json in
                json.field("status", status)
                json.field("redis", redis)
                json.field("problems", problems)
            }
        }
    }

    @Sendable func live(_ request: Request, context: AppRequestContext) async throws -> Response {
        jsonResponse(Health(status: "ok"))
    }

    /// Ready when Redis (every master of a cluster) answers and knows every lifecycle script.
    @Sendable func ready(_ request: Request, context: AppRequestContext) async throws -> Response {
        let readiness: StoreReadiness
        do {
            readiness = try await services.store.checkReadiness()
        } catch let error as StoreNotReady {
            return jsonResponse(Health(status: "unavailable", problems: [error.message]), status: .serviceUnavailable)
        } catch {
            return jsonResponse(Health(status: "unavailable", problems: ["Redis is not reachable: \(APIError(error).message)"]), status: .serviceUnavailable)
        }
        var problems = readiness.notes
        if let problem = hub.configurationProblem {
            // Serving works, but watchers only learn of changes by polling: ready, with the reason.
            problems.append(problem)
        }
        return jsonResponse(Health(status: "ok", redis: readiness.master, problems: problems.isEmpty ? nil : problems))
    }
}
