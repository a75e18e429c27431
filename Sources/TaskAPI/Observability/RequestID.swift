import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The id of the request a piece of work belongs to: taken from `X-Request-Id` (sanitised and
/// bounded) or made here, echoed in the response, and put on every log line made while the
/// request is handled (``metadataProvider``, a task-local, so the engine's lines carry it too).
public enum RequestID {
    @TaskLocal public static var current: String?

    public static let header = HTTPField.Name("X-Request-Id")!
    /// Longest id taken from a client; longer ones are cut.
    public static let maximumLength = 64

    /// Adds `request.id` to every log line made within a request's task tree. Bootstrap swift-log with it.
    public static let metadataProvider = Logger.MetadataProvider {
        guard let id = current else { return [:] }
        return ["request.id": .string(id)]
    }

    /// The client's id with every character but letters, digits and `-._:` dropped, cut to
    /// ``maximumLength``; nil when nothing is left.
    public static func sanitised(_ value: String?) -> String? {
        guard let value else { return nil }
        let kept = value.unicodeScalars.lazy.filter { scalar in
            scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || "-._:".unicodeScalars.contains(scalar))
        }.prefix(maximumLength)
        let id = String(String.UnicodeScalarView(kept))
        return id.isEmpty ? nil : id
    }

    /// A new id: 16 random bytes in hex.
    public static func generate() -> String {
        var random = SystemRandomNumberGenerator()
        return [random.next(), random.next()].map { (value: UInt64) in
            let digits = String(value, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }.joined()
    }
}

/// Gives each request its id (``RequestID``) and echoes it in `X-Request-Id`.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let id = RequestID.sanitised(request.headers[RequestID.header]) ?? RequestID.generate()
        var response: Response
        do {
            response = try await RequestID.$current.withValue(id) { try await next(request, context) }
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        }
        response.headers[RequestID.header] = id
        // A streamed body (SSE, long answers) is written after `next` returns, outside the scope
        // above: write it inside one too, so lines logged while it streams carry the id as well.
        if response.body.contentLength == nil {
            let body = response.body
            response.body = ResponseBody { writer in
                try await RequestID.$current.withValue(id) { try await body.write(writer) }
            }
        }
        return response
    }
}
