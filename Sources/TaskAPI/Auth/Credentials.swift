import Foundation
import HTTPTypes

/// A key and secret from one of the three credential styles of the seeds (DESIGN.md §4.4):
/// HTTP Basic `key:secret` (Redis Software), `x-api-key` + `x-api-secret-key` (Redis Cloud),
/// `Authorization: Bearer <key>:<secret>` (kAPI).
struct Credentials: Sendable, Hashable {
    var key: String
    var secret: String

    static let apiKeyHeader = HTTPField.Name("x-api-key")!
    static let apiSecretHeader = HTTPField.Name("x-api-secret-key")!

    /// nil when the request carries no credentials; throws 401 when it carries malformed ones.
    static func from(_ headers: HTTPFields) throws -> Credentials? {
        if let key = headers[apiKeyHeader] {
            guard let secret = headers[apiSecretHeader] else {
                throw APIError(.unauthorized, "missing_credentials", "x-api-key was sent without x-api-secret-key.", headers: challenge)
            }
            return Credentials(key: key, secret: secret)
        }
        guard let authorization = headers[.authorization] else { return nil }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2 else { throw malformed }
        let scheme = parts[0].lowercased()
        let value = String(parts[1].trimmingHTTPWhitespace)
        let pair: String
        switch scheme {
        case "basic":
            guard let data = Data(base64Encoded: value), let decoded = String(validating: data, as: UTF8.self) else { throw malformed }
            pair = decoded
        case "bearer":
            pair = value
        default:
            throw APIError(.unauthorized, "unsupported_credentials", "Use HTTP Basic key:secret, Bearer key:secret, or the x-api-key and x-api-secret-key headers.", headers: challenge)
        }
        guard let colon = pair.firstIndex(of: ":") else { throw malformed }
        return Credentials(key: String(pair[..<colon]), secret: String(pair[pair.index(after: colon)...]))
    }

    static let challenge: HTTPFields = [.wwwAuthenticate: "Basic realm=\"taskd\""]

    static var malformed: APIError {
        APIError(.unauthorized, "malformed_credentials", "The Authorization header must be Basic base64(key:secret) or Bearer key:secret.", headers: challenge)
    }
}
