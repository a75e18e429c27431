import HTTPTypes
import Hummingbird
import TaskEngine

/// What goes into the audit stream (issue 13): every state-changing call (POST, PUT, PATCH, DELETE)
/// whatever its answer, and every failed authentication (401, 429) or authorization (403) on any
/// route, under the request's id (`RequestIDMiddleware`). Never a secret: the key id, and for a failed authentication the id the caller claimed.
struct AuditTrail: Sendable {
    let log: AuditLog

    static let changingMethods: Set<HTTPRequest.Method> = [.post, .put, .patch, .delete]
    static let refusals: Set<Int> = [401, 403, 429]

    func record(_ endpoint: Endpoint, _ request: Request, _ context: AppRequestContext, source: String, status: Int, error: String) {
        guard log.maxLength > 0, Self.changingMethods.contains(request.method) || Self.refusals.contains(status) else { return }
        let keyId = context.apiKey?.key ?? Self.claimedKeyId(request.headers)
        log.record(AuditEntry(
            requestId: RequestID.current ?? "",
            keyId: keyId, role: context.apiKey?.role.rawValue ?? "",
            action: "\(request.method.rawValue) \(endpoint.path)",
            target: context.parameters.first.map { Self.printable(String($0.value), limit: 256) } ?? "",
            status: status, error: error, source: source))
    }

    /// The key id a request names, when it has the form of one; "" otherwise (never the secret).
    static func claimedKeyId(_ headers: HTTPFields) -> String {
        guard let credentials = try? Credentials.from(headers), APIKeyStore.isValidKey(credentials.key) else { return "" }
        return credentials.key
    }

    static func printable(_ text: String, limit: Int) -> String {
        String(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7F }.prefix(limit).map(Character.init))
    }
}
