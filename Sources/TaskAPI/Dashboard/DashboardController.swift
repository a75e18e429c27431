import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TaskEngine

/// The live dashboard at `/ui` (issue 15): one page of plain HTML, CSS and JavaScript bundled with
/// this module (`Dashboard/ui/`), no build step, nothing fetched from elsewhere — and the browser
/// sessions it logs in with. The page itself holds no data, so it is served to anyone; everything
/// it shows comes from the routes in ``pageRoutes``, which take the session cookie.
struct DashboardController {
    let services: APIServices

    /// `TASKD_SESSION_TTL`'s default (and `buildRouter`'s), 8 hours.
    static let defaultSessionLifetime: Duration = .seconds(28_800)

    /// Where the session cookie is a credential: the session routes and exactly the API routes the
    /// page calls. Everywhere else a cookie is refused (401 `session_not_accepted`).
    static let pageRoutes: Set<String> = [
        "GET /ui/session", "POST /ui/logout",
        "GET /v1/tasks", "GET /v1/tasks/{taskId}", "GET /v1/tasks/{taskId}/events", "GET /v1/events", "GET /v1/actions/{uid}",
        "POST /v1/tasks/{taskId}/actions/cancel", "POST /v1/tasks/{taskId}/dismiss", "DELETE /v1/tasks/{taskId}",
    ]

    var endpoints: [Endpoint] {
        [
            Endpoint(.get, "/ui", .open, .native) { _, _ in try Self.asset("index.html") },
            Endpoint(.get, "/ui/app.js", .open, .native) { _, _ in try Self.asset("app.js") },
            Endpoint(.get, "/ui/app.css", .open, .native) { _, _ in try Self.asset("app.css") },
            // Logging in needs key:secret in the headers (a cookie is no way to get a cookie), and the
            // key a role that may read: a worker key opens no dashboard (403).
            Endpoint(.post, "/ui/login", .read, .native, login),
            Endpoint(.get, "/ui/session", .read, .native, session),
            Endpoint(.post, "/ui/logout", .read, .native, logout),
        ]
    }

    /// A request the page made (or a browser that holds the cookie): its 401s carry no Basic
    /// challenge, which would open the browser's own login dialog.
    static func isFromPage(_ request: Request) -> Bool {
        request.uri.path.hasPrefix("/ui") || SessionCookie.value(in: request.headers) != nil
    }

    @Sendable func login(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let key = context.apiKey else { throw Authenticator.sessionEnded }
        let (cookie, session) = try await services.store.sessions.open(for: key, lifetime: services.sessionLifetime)
        let secure = isSecure(request, context)
        return try jsonResponse(SessionRepresentation(key: key, session: session), headers: [
            .setCookie: SessionCookie.setting(cookie, maxAge: services.sessionLifetime, secure: secure), .cacheControl: "no-store",
        ])
    }

    /// Who is logged in, and the CSRF token the page sends with every change (the page reads it
    /// here after a reload; the cookie is out of its reach).
    @Sendable func session(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let key = context.apiKey else { throw Authenticator.sessionEnded }
        return try jsonResponse(SessionRepresentation(key: key, session: context.session), headers: [.cacheControl: "no-store"])
    }

    /// Ends the session on every replica (its open event streams end within ``SessionWatch/interval``)
    /// and tells the browser to forget the cookie. With header credentials there is no session: 204 all the same.
    @Sendable func logout(_ request: Request, context: AppRequestContext) async throws -> Response {
        if let session = context.session { try await services.store.sessions.revoke(session) }
        return Response(status: .noContent, headers: [.setCookie: SessionCookie.clearing(secure: isSecure(request, context))])
    }

    private func isSecure(_ request: Request, _ context: AppRequestContext) -> Bool {
        services.origin.baseURL(of: request, context: context).hasPrefix("https:")
    }

    /// The page's files, read once. The policy lets the page load only its own files and talk only
    /// to this origin, and no other site frame it.
    static let assets: [String: ByteBuffer] = {
        guard let folder = Bundle.module.url(forResource: "ui", withExtension: nil) else { return [:] }
        var assets: [String: ByteBuffer] = [:]
        for name in ["index.html", "app.js", "app.css"] {
            if let data = try? Data(contentsOf: folder.appendingPathComponent(name)) { assets[name] = ByteBuffer(bytes: data) }
        }
        return assets
    }()

    static let contentTypes = ["index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8"]

    static func asset(_ name: String) throws -> Response {
        guard let body = assets[name] else {
            throw APIError(.internalServerError, "dashboard_missing", "The dashboard's \(name) is not bundled with this build.")
        }
        return Response(status: .ok, headers: [
            .contentType: contentTypes[name] ?? "application/octet-stream",
            .contentSecurityPolicy: "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            HTTPField.Name("Referrer-Policy")!: "no-referrer",
            .cacheControl: "no-cache",
        ], body: .init(byteBuffer: body))
    }
}

/// The caller as `POST /ui/login` and `GET /ui/session` show it; never a secret or the cookie.
struct SessionRepresentation: Encodable, Sendable {
    var key: String
    var role: String
    var name: String
    /// ISO-8601; absent when the caller came with header credentials (no session).
    var expiresAt: String?
    var csrfToken: String?

    init(key: APIKey, session: BrowserSession?) {
        self.key = key.key
        self.role = key.role.rawValue
        self.name = key.name
        self.expiresAt = session.map { Timestamp.iso8601(milliseconds: $0.expiresAt) }
        self.csrfToken = session?.csrfToken
    }
}
