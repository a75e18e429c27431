import Foundation
import HTTPTypes
import Hummingbird

/// Request bodies are JSON and say so (issue 13, finding 8). A browser sends a cross-site form or a
/// `no-cors` fetch as `text/plain`, `application/x-www-form-urlencoded` or `multipart/form-data`,
/// and would send cached Basic credentials with it; a JSON content type needs a CORS preflight,
/// which taskd never grants. So every POST, PUT and PATCH with another content type, or with a body
/// and none, is refused (415) before its route runs, whether or not the route reads a body.
enum RequestMediaType {
    static let methods: Set<HTTPRequest.Method> = [.post, .put, .patch]

    /// The refusal for this request, or nil when it may go on.
    static func refusal(_ request: Request) -> APIError? {
        guard methods.contains(request.method) else { return nil }
        guard let contentType = request.headers[.contentType] else {
            let length = request.headers[.contentLength].flatMap { Int($0) } ?? 0
            guard length > 0 || request.headers[.transferEncoding] != nil else { return nil }
            return unsupported("none")
        }
        return isJSON(contentType) ? nil : unsupported(String(contentType.prefix(100)))
    }

    /// `application/json` or a `+json` type, with any parameters (`; charset=utf-8`).
    static func isJSON(_ contentType: String) -> Bool {
        let mediaType = (contentType.split(separator: ";", maxSplits: 1).first ?? "").trimmingHTTPWhitespace.lowercased()
        return mediaType == "application/json" || (mediaType.hasPrefix("application/") && mediaType.hasSuffix("+json"))
    }

    private static func unsupported(_ given: String) -> APIError {
        APIError(.unsupportedMediaType, "unsupported_media_type",
                 "Request bodies must be JSON, sent with Content-Type: application/json (this request's: \(given)).")
    }
}
