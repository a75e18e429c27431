import Foundation
import Hummingbird
import ServiceLifecycle
import TaskEngine

/// The HTTP worker protocol (DESIGN.md §4.2). Every call after the claim carries the lease token,
/// the fencing token: a worker that lost its lease gets 409 and changes nothing.
struct WorkersController {
    let services: APIServices

    /// Longest claim long-poll.
    static let maximumWait = 30
    static let opFields: Set<String> = ["progress", "op_name", "status_code", "status_description", "snapshot"]

    var endpoints: [Endpoint] {
        [
            Endpoint(.post, "/v1/workers/claim", .work, .native, claim),
            Endpoint(.post, "/v1/tasks/{taskId}/heartbeat", .work, .native, heartbeat),
            Endpoint(.post, "/v1/tasks/{taskId}/complete", .work, .native, complete),
            Endpoint(.post, "/v1/tasks/{taskId}/fail", .work, .native, fail),
            Endpoint(.post, "/v1/tasks/{taskId}/cancelled", .work, .native, acknowledgeCancel),
        ]
    }

    struct Claimed: JSONWritable {
        var taskId: String
        var commandType: String
        var params: JSONValue?
        /// The op ids in the order given at create.
        var ops: [String]
        /// A retried attempt's view of what the last attempt reported per op; absent on a first attempt.
        var opStates: [String: JSONValue]?
        var attempt: Int
        var maxAttempts: Int
        var leaseToken: String
        var leaseExpiresAt: String
        var leaseSeconds: Double
        /// The W3C traceparent stored at create; absent when none.
        var traceparent: String?

        func writeJSON(to json: inout JSONWriter) {
            json.object { json in
                json.field("taskId", taskId)
                json.field("commandType", commandType)
                json.field("params", params)
                json.field("ops", ops)
                json.field("opStates", opStates.map(JSONValue.object))
                json.field("attempt", attempt)
                json.field("maxAttempts", maxAttempts)
                json.field("leaseToken", leaseToken)
                json.field("leaseExpiresAt", leaseExpiresAt)
                json.field("leaseSeconds", leaseSeconds)
                json.field("traceparent", traceparent)
            }
        }
    }

    @Sendable func claim(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await JSONBody.read(request, context: context, allowed: ["workerId", "commandTypes", "waitSeconds", "leaseSeconds"])
        let workerId = try body.string("workerId", required: true, maxLength: TaskLimits.workerIdLength.upperBound) ?? ""
        let commandTypes = try body.strings("commandTypes", required: true, maxCount: TaskLimits.claimCommandTypes.upperBound) ?? []
        guard !commandTypes.isEmpty else { throw APIError.badRequest("invalid_field", "commandTypes must name at least one commandType.") }
        let wait = try body.number("waitSeconds") ?? 0
        guard (0...Double(Self.maximumWait)).contains(wait) else {
            throw APIError.badRequest("invalid_field", "waitSeconds must be between 0 and \(Self.maximumWait).")
        }
        let lease = try leaseDuration(body)
        // Graceful shutdown ends a waiting claim with "nothing" (204): the engine stops waiting when
        // cancelled, but a claim script already sent still answers, so no task is lost on the way.
        let store = services.store
        // A long-poll mostly waits: it leaves the in-flight count, or idle workers would fill it.
        if wait > 0 { context.admission?.release() }
        let claimed = try await cancelWhenGracefulShutdown {
            try await store.claim(workerId: workerId, commandTypes: commandTypes, lease: lease, wait: .milliseconds(Int64(wait * 1000)))
        }
        guard let task = claimed else {
            return Response(status: .noContent)
        }
        let opStates = task.opStates.isEmpty ? nil : Dictionary(
            task.opStates.map { ($0.id, JSONValue(text: $0.json) ?? .object([:])) }, uniquingKeysWith: { first, _ in first })
        return jsonResponse(Claimed(
            taskId: task.id, commandType: task.commandType, params: JSONValue(text: task.params),
            ops: task.ops, opStates: opStates, attempt: task.attempt, maxAttempts: task.maxAttempts,
            leaseToken: task.leaseToken, leaseExpiresAt: Timestamp.iso8601(milliseconds: task.leaseExpiresAt),
            leaseSeconds: Double(task.lease.components.seconds) + Double(task.lease.components.attoseconds) / 1e18,
            traceparent: task.traceparent))
    }

    struct HeartbeatReply: JSONWritable {
        var cancelRequested: Bool
        var leaseExpiresAt: String
        var lifecycleStatus: String
        var version: Int64

        func writeJSON(to json: inout JSONWriter) {
            json.object { json in
                json.field("cancelRequested", cancelRequested)
                json.field("leaseExpiresAt", leaseExpiresAt)
                json.field("lifecycleStatus", lifecycleStatus)
                json.field("version", version)
            }
        }
    }

    @Sendable func heartbeat(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try request.taskID(context)
        let body = try await JSONBody.read(request, context: context, allowed: [
            "leaseToken", "leaseSeconds", "progress", "state", "description", "ops", "cancellable",
        ])
        var heartbeat = Heartbeat(leaseToken: try body.string("leaseToken", required: true, maxLength: TaskLimits.leaseTokenLength.upperBound) ?? "")
        heartbeat.lease = try leaseDuration(body)
        if let progress = try body.number("progress") {
            guard TaskLimits.progress.contains(progress) else { throw APIError.badRequest("invalid_field", "progress must be between 0 and 100.") }
            heartbeat.progress = progress
        }
        heartbeat.state = try body.string("state", maxLength: TaskLimits.nameLength.upperBound)
        heartbeat.statusDescription = try body.string("description")
        heartbeat.cancellable = try body.bool("cancellable")
        for (opId, value) in (try body.object("ops") ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard case .object(let op) = value else { throw APIError.badRequest("invalid_field", "ops.\(opId.prefix(64)) must be a JSON object.") }
            if let unknown = op.keys.first(where: { !Self.opFields.contains($0) }) {
                throw APIError.badRequest("unknown_field", "Unknown field ops.\(opId.prefix(64)).\(unknown.prefix(64)); allowed: \(Self.opFields.sorted().joined(separator: ", ")).")
            }
            if let progress = op["progress"] {
                guard case .number(let number) = progress, TaskLimits.progress.contains(number) else {
                    throw APIError.badRequest("invalid_field", "ops.\(opId.prefix(64)).progress must be a number between 0 and 100.")
                }
            }
            // heartbeat-5 stamps `heartbeat` and `last_sample_time`, for every caller of the contract alike.
            heartbeat.ops.append(TaskOp(id: opId, json: JSONValue.object(op).text))
        }
        let result = try await services.store.heartbeat(id.text, heartbeat)
        return jsonResponse(HeartbeatReply(
            cancelRequested: result.cancelRequested, leaseExpiresAt: Timestamp.iso8601(milliseconds: result.leaseExpiresAt),
            lifecycleStatus: result.status.rawValue, version: result.version))
    }

    struct Finished: JSONWritable {
        var taskId: String
        var lifecycleStatus: String
        var version: Int64
        var cancelRequested: Bool?
        var retryAt: String?

        func writeJSON(to json: inout JSONWriter) {
            json.object { json in
                json.field("taskId", taskId)
                json.field("lifecycleStatus", lifecycleStatus)
                json.field("version", version)
                json.field("cancelRequested", cancelRequested)
                json.field("retryAt", retryAt)
            }
        }
    }

    @Sendable func complete(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try request.taskID(context)
        let body = try await JSONBody.read(request, context: context, allowed: ["leaseToken", "response"])
        let token = try leaseToken(body)
        let result = try await services.store.complete(id.text, leaseToken: token, response: try body.json("response"))
        return jsonResponse(Finished(taskId: id.text, lifecycleStatus: "completed", version: result.version, cancelRequested: result.cancelRequested))
    }

    @Sendable func fail(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try request.taskID(context)
        let body = try await JSONBody.read(request, context: context, allowed: ["leaseToken", "errorCode", "errorMessage", "retryable"])
        let token = try leaseToken(body)
        let result = try await services.store.fail(
            id.text, leaseToken: token, errorCode: try body.string("errorCode", maxLength: TaskLimits.nameLength.upperBound),
            errorMessage: try body.string("errorMessage"), retryable: try body.bool("retryable") ?? true)
        return jsonResponse(Finished(taskId: id.text, lifecycleStatus: result.status.rawValue, version: result.version,
                                         retryAt: result.retryAt.map(Timestamp.iso8601(milliseconds:))))
    }

    @Sendable func acknowledgeCancel(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try request.taskID(context)
        let body = try await JSONBody.read(request, context: context, allowed: ["leaseToken"])
        let version = try await services.store.acknowledgeCancel(id.text, leaseToken: try leaseToken(body))
        return jsonResponse(Finished(taskId: id.text, lifecycleStatus: "cancelled", version: version))
    }

    private func leaseToken(_ body: JSONBody) throws -> String {
        try body.string("leaseToken", required: true, maxLength: TaskLimits.leaseTokenLength.upperBound) ?? ""
    }

    private func leaseDuration(_ body: JSONBody) throws -> Duration? {
        guard let seconds = try body.number("leaseSeconds") else { return nil }
        let range = TaskLimits.leaseSeconds
        guard (Double(range.lowerBound)...Double(range.upperBound)).contains(seconds) else {
            throw APIError.badRequest("invalid_field", "leaseSeconds must be between \(range.lowerBound) and \(range.upperBound).")
        }
        return .milliseconds(Int64(seconds * 1000))
    }
}
