import Foundation
import Hummingbird
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

    struct Claimed: Encodable {
        var taskId: String
        var commandType: String
        var params: JSONValue?
        var ops: JSONValue
        var attempt: Int
        var maxAttempts: Int
        var leaseToken: String
        var leaseExpiresAt: String
    }

    @Sendable func claim(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await JSONBody.read(request, context: context, allowed: ["workerId", "commandTypes", "waitSeconds", "leaseSeconds"])
        let workerId = try body.string("workerId", required: true, maxLength: 256) ?? ""
        let commandTypes = try body.strings("commandTypes", required: true, maxCount: 64) ?? []
        guard !commandTypes.isEmpty else { throw APIError.badRequest("invalid_field", "commandTypes must name at least one commandType.") }
        let wait = try body.number("waitSeconds") ?? 0
        guard (0...Double(Self.maximumWait)).contains(wait) else {
            throw APIError.badRequest("invalid_field", "waitSeconds must be between 0 and \(Self.maximumWait).")
        }
        let lease = try leaseDuration(body)
        guard let task = try await services.store.claim(workerId: workerId, commandTypes: commandTypes, lease: lease, wait: .milliseconds(Int64(wait * 1000))) else {
            return Response(status: .noContent)
        }
        return try jsonResponse(Claimed(
            taskId: task.id, commandType: task.commandType, params: JSONValue(text: task.params),
            ops: JSONValue(text: task.ops) ?? .object([:]), attempt: task.attempt, maxAttempts: task.maxAttempts,
            leaseToken: task.leaseToken, leaseExpiresAt: Timestamp.iso8601(milliseconds: task.leaseExpiresAt)))
    }

    struct HeartbeatReply: Encodable {
        var cancelRequested: Bool
        var leaseExpiresAt: String
        var lifecycleStatus: String
        var version: Int64
    }

    @Sendable func heartbeat(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try taskId(request, context)
        let body = try await JSONBody.read(request, context: context, allowed: [
            "leaseToken", "leaseSeconds", "progress", "state", "description", "ops", "cancellable",
        ])
        var heartbeat = Heartbeat(leaseToken: try body.string("leaseToken", required: true, maxLength: 128) ?? "")
        heartbeat.lease = try leaseDuration(body)
        if let progress = try body.number("progress") {
            guard (0...100).contains(progress) else { throw APIError.badRequest("invalid_field", "progress must be between 0 and 100.") }
            heartbeat.progress = progress
        }
        heartbeat.state = try body.string("state", maxLength: 256)
        heartbeat.statusDescription = try body.string("description")
        heartbeat.cancellable = try body.bool("cancellable")
        let seconds = services.store.now() / 1000
        for (opId, value) in (try body.object("ops") ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard case .object(var op) = value else { throw APIError.badRequest("invalid_field", "ops.\(opId.prefix(64)) must be a JSON object.") }
            if let unknown = op.keys.first(where: { !Self.opFields.contains($0) }) {
                throw APIError.badRequest("unknown_field", "Unknown field ops.\(opId.prefix(64)).\(unknown.prefix(64)); allowed: \(Self.opFields.sorted().joined(separator: ", ")).")
            }
            if let progress = op["progress"] {
                guard case .number(let number) = progress, (0...100).contains(number) else {
                    throw APIError.badRequest("invalid_field", "ops.\(opId.prefix(64)).progress must be a number between 0 and 100.")
                }
            }
            // RS pending_ops times are seconds since the epoch.
            op["heartbeat"] = .number(Double(seconds))
            op["last_sample_time"] = .number(Double(seconds))
            heartbeat.ops.append(TaskOp(id: opId, json: JSONValue.object(op).text))
        }
        let result = try await services.store.heartbeat(id, heartbeat)
        return try jsonResponse(HeartbeatReply(
            cancelRequested: result.cancelRequested, leaseExpiresAt: Timestamp.iso8601(milliseconds: result.leaseExpiresAt),
            lifecycleStatus: result.status.rawValue, version: result.version))
    }

    struct Finished: Encodable {
        var taskId: String
        var lifecycleStatus: String
        var version: Int64
        var cancelRequested: Bool?
        var retryAt: String?
    }

    @Sendable func complete(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try taskId(request, context)
        let body = try await JSONBody.read(request, context: context, allowed: ["leaseToken", "response"])
        let token = try body.string("leaseToken", required: true, maxLength: 128) ?? ""
        let result = try await services.store.complete(id, leaseToken: token, response: try body.json("response"))
        return try jsonResponse(Finished(taskId: id, lifecycleStatus: "completed", version: result.version, cancelRequested: result.cancelRequested))
    }

    @Sendable func fail(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try taskId(request, context)
        let body = try await JSONBody.read(request, context: context, allowed: ["leaseToken", "errorCode", "errorMessage", "retryable"])
        let token = try body.string("leaseToken", required: true, maxLength: 128) ?? ""
        let result = try await services.store.fail(
            id, leaseToken: token, errorCode: try body.string("errorCode", maxLength: 256),
            errorMessage: try body.string("errorMessage"), retryable: try body.bool("retryable") ?? true)
        return try jsonResponse(Finished(taskId: id, lifecycleStatus: result.status.rawValue, version: result.version,
                                         retryAt: result.retryAt.map(Timestamp.iso8601(milliseconds:))))
    }

    @Sendable func acknowledgeCancel(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try taskId(request, context)
        let body = try await JSONBody.read(request, context: context, allowed: ["leaseToken"])
        let version = try await services.store.acknowledgeCancel(id, leaseToken: try body.string("leaseToken", required: true, maxLength: 128) ?? "")
        return try jsonResponse(Finished(taskId: id, lifecycleStatus: "cancelled", version: version))
    }

    private func taskId(_ request: Request, _ context: AppRequestContext) throws -> String {
        let id = try request.parameter("taskId", context)
        guard TaskID.isValid(id) else { throw APIError.taskNotFound(id) }
        return id
    }

    private func leaseDuration(_ body: JSONBody) throws -> Duration? {
        guard let seconds = try body.number("leaseSeconds") else { return nil }
        guard (1...86_400).contains(seconds) else { throw APIError.badRequest("invalid_field", "leaseSeconds must be between 1 and 86400.") }
        return .milliseconds(Int64(seconds * 1000))
    }
}
