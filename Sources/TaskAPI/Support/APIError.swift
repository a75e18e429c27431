import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TaskEngine

/// An error answer: a status, a stable code and a sentence a person can act on.
public struct APIError: Error, Sendable {
    public var status: HTTPResponse.Status
    /// Stable, machine-readable: `task_not_found`, `invalid_json`, …
    public var code: String
    public var message: String
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    static func badRequest(_ code: String, _ message: String) -> APIError { APIError(.badRequest, code, message) }

    static func taskNotFound(_ id: String) -> APIError {
        APIError(.notFound, "task_not_found", "No task \(id.prefix(80)) exists: it is unknown, was deleted, or its result expired.")
    }

    /// The body in `style`'s shape.
    func body(in style: ErrorBodyStyle) -> [String: String] {
        switch style {
        case .cloud:
            return ["type": code, "status": "\(status.code) \(status.reasonPhrase.uppercased().replacingOccurrences(of: " ", with: "_"))", "description": message]
        case .software:
            return ["error_code": code, "description": message]
        case .kapi:
            return ["code": code, "message": message]
        }
    }

    /// Status, headers (with `Content-Type`) and JSON body in `dialect`'s shape: what
    /// ``response(in:)`` sends, for a channel handler that writes it itself.
    struct Rendered {
        var status: HTTPResponse.Status
        var headers: HTTPFields
        var body: Data
    }

    func rendered(in dialect: Dialect) -> Rendered {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(body(in: dialect.errorBodyStyle))) ?? Data()
        var headers = self.headers
        headers[.contentType] = "application/json"
        return Rendered(status: status, headers: headers, body: data)
    }

    func response(in dialect: Dialect) -> Response {
        let rendered = rendered(in: dialect)
        return Response(status: rendered.status, headers: rendered.headers, body: .init(byteBuffer: ByteBuffer(bytes: rendered.body)))
    }
}

extension APIError {
    /// The one place where engine and Redis failures become HTTP answers.
    init(_ error: any Error) {
        switch error {
        case let error as APIError:
            self = error
        case let error as TaskEngineError:
            self = APIError(engine: error)
        case let error where StoreFailure(error) == .unreachable:
            // Redis is away or slow: say so quickly; the client reconnects by itself.
            self = APIError(.serviceUnavailable, "redis_unavailable", "The task store (Redis) is not reachable right now; retry shortly.", headers: [.retryAfter: "1"])
        case let error where StoreFailure(error) != nil:
            self = APIError(.serviceUnavailable, "redis_error", "The task store (Redis) refused the request; retry shortly or ask an operator to check Redis.", headers: [.retryAfter: "1"])
        case is CancellationError:
            // Only graceful shutdown cancels a request's work.
            self = APIError(.serviceUnavailable, "shutting_down", "This taskd replica is shutting down; retry on another.", headers: [.retryAfter: "1"])
        case let error as HTTPError:
            self = APIError(error.status, error.status == .notFound ? "not_found" : "http_\(error.status.code)", error.body ?? error.status.reasonPhrase)
        default:
            self = APIError(.internalServerError, "internal_error", "taskd failed to handle the request; it has been logged.")
        }
    }

    init(engine error: TaskEngineError) {
        switch error.code {
        case .notFound:
            self = APIError(.notFound, "task_not_found", error.message)
        case .wrongStatus:
            self = APIError(.conflict, "wrong_status", error.message)
        case .staleLease:
            self = APIError(.conflict, "stale_lease", error.message)
        case .notCancellable:
            self = APIError(.notAcceptable, "not_cancellable", error.message)
        case .duplicateUnique:
            self = APIError(.conflict, "duplicate_unique_key", error.message)
        case .alreadyExists:
            self = APIError(.conflict, "already_exists", error.message)
        case .invalidArgument:
            self = APIError(.badRequest, "invalid_argument", error.message)
        case .lastAdminKey:
            self = APIError(.conflict, "last_admin_key", error.message)
        default:
            self = APIError(.internalServerError, "internal_error", "taskd failed to handle the request; it has been logged.")
        }
    }
}
