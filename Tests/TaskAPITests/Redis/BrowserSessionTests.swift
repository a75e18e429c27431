import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import RESP
import RedisClient
@testable import TaskAPI
@testable import TaskEngine
import TestSupport
import Testing

/// The dashboard's browser sessions (issue 15): `POST /ui/login` turns key:secret into an HttpOnly,
/// SameSite=Strict cookie stored hashed in Redis with a TTL; the cookie works only on the page's
/// routes, state changes need the CSRF token, logout and key deletion end it, failures are throttled.
@Suite(.tags(.redis)) struct BrowserSessionTests {
    static let unknownTask = "01a205c3-7630-7000-917e-31b5e9ea6dbe"

    struct Login {
        var cookie: String
        var setCookie: String
        var csrf: String
        var headers: HTTPFields { [.cookie: "other=1; \(SessionCookie.name)=\(cookie)"] }
        var withToken: HTTPFields { headers + [SessionCookie.csrfHeader: csrf] }
    }

    static func login(_ client: some TestClientProtocol, _ credentials: HTTPFields) async throws -> Login {
        // (A live client sends an empty POST body chunked: with a JSON content type, as the page's fetch needs none.)
        let response = try await client.execute(uri: "/ui/login", method: .post, headers: credentials + jsonContent)
        try #require(response.status == .ok, "login answered \(response.status)")
        let setCookie = try #require(response.headers[.setCookie])
        let value = try #require(setCookie.split(separator: ";").first?.split(separator: "=", maxSplits: 1).last.map(String.init))
        let csrf = try #require(response.json?["csrfToken"] as? String)
        return Login(cookie: value, setCookie: setCookie, csrf: csrf)
    }

    @Test func loginSetsAStrictHttpOnlyCookieStoredHashedWithItsTTL() async throws {
        try await withAPI(sessionLifetime: .seconds(600)) { client, store, credentials in
            let login = try await Self.login(client, credentials.basic(.operator))
            let attributes = Set(login.setCookie.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.dropFirst())
            #expect(attributes == ["Path=/", "Max-Age=600", "HttpOnly", "SameSite=Strict"], "\(login.setCookie)")
            #expect(BrowserSessionStore.isWellFormed(login.cookie))
            // In Redis: named by the cookie's digest, never holding the cookie, gone after its TTL.
            let record = store.keyspace.auth.browserSession(BrowserSessionStore.digest(login.cookie))
            let ttl = try #require(try await store.redis.send(RedisCommand("PTTL", [.string(record)], keys: [record])).int)
            #expect((590_000...600_000).contains(ttl), "PTTL \(ttl)")
            let fields = try await store.redis.send(RedisCommand("HGETALL", [.string(record)], keys: [record])).array?.compactMap(\.string) ?? []
            #expect(fields.contains("operator") && !fields.contains(login.cookie) && !fields.contains(login.csrf), "\(fields)")
            let me = try await client.execute(uri: "/ui/session", method: .get, headers: login.headers)
            #expect(me.status == .ok)
            #expect(me.json?["role"] as? String == "operator")
            #expect(me.json?["csrfToken"] as? String == login.csrf, "every request with the cookie derives the same token")
        }
    }

    @Test func overTLSTheCookieIsSecure() async throws {
        try await withAPI(origin: RequestOrigin(publicURL: "https://tasks.example.com")) { client, _, credentials in
            let login = try await Self.login(client, credentials.basic(.viewer))
            #expect(login.setCookie.hasSuffix("; Secure"), "\(login.setCookie)")
            let out = try await client.execute(uri: "/ui/logout", method: .post, headers: login.withToken)
            #expect(out.headers[.setCookie]?.contains("Max-Age=0") == true && out.headers[.setCookie]?.hasSuffix("; Secure") == true)
        }
    }

    @Test func theCookieIsACredentialOnlyOnThePageRoutes() async throws {
        try await withAPI { client, _, credentials in
            let login = try await Self.login(client, credentials.basic(.admin))
            for uri in ["/v1/tasks", "/v1/tasks/\(Self.unknownTask)", "/v1/actions/\(Self.unknownTask)", "/ui/session"] {
                let status = try await client.execute(uri: uri, method: .get, headers: login.headers).status
                #expect(status == .ok || status == .notFound, "GET \(uri) with the cookie: \(status)")
            }
            // Everything else refuses it, even for an admin's session and with the CSRF token.
            let outside: [(HTTPRequest.Method, String)] = [
                (.get, "/v1/apikeys"), (.post, "/v1/apikeys"), (.post, "/v1/tasks"), (.get, "/v1/crdb_tasks"), (.get, "/kapi/actions"),
                (.post, "/v1/workers/claim"), (.get, "/openapi.json"), (.post, "/ui/login"),
            ]
            for (method, uri) in outside {
                let response = try await client.execute(uri: uri, method: method, headers: login.withToken + jsonContent,
                                                        body: method == .post ? ByteBuffer(string: "{}") : nil)
                #expect(response.status == .unauthorized, "\(method) \(uri) with the cookie: \(response.status)")
                #expect(String(buffer: response.body).contains("session_not_accepted"), "\(method) \(uri)")
            }
            // Header credentials still work everywhere, the cookie beside them changing nothing.
            let keys = try await client.execute(uri: "/v1/apikeys", method: .get, headers: credentials.basic(.admin) + login.headers)
            #expect(keys.status == .ok)
        }
    }

    @Test func aStateChangeWithTheCookieNeedsTheCSRFToken() async throws {
        try await withAPI { client, store, credentials in
            let login = try await Self.login(client, credentials.basic(.operator))
            let created = try await store.create(NewTask(commandType: "csrf_probe"))
            let cancel = "/v1/tasks/\(created.id)/actions/cancel"
            for headers in [login.headers, login.headers + [SessionCookie.csrfHeader: String(repeating: "0", count: 64)]] {
                let refused = try await client.execute(uri: cancel, method: .post, headers: headers)
                #expect(refused.status == .forbidden)
                #expect(refused.json?["type"] as? String == "csrf_token_required")
            }
            #expect(try await store.get(created.id)?.status == .queued, "a refused cancel changed nothing")
            let cancelled = try await client.execute(uri: cancel, method: .post, headers: login.withToken)
            #expect(cancelled.status == .ok)
            #expect(cancelled.json?["lifecycleStatus"] as? String == "cancelled")
            let deleted = try await client.execute(uri: "/v1/tasks/\(created.id)", method: .delete, headers: login.withToken)
            #expect(deleted.status == .noContent)
            // Reads need no token; a viewer's session has the viewer's role.
            let viewer = try await Self.login(client, credentials.basic(.viewer))
            #expect(try await client.execute(uri: "/v1/tasks", method: .get, headers: viewer.headers).status == .ok)
            let forbidden = try await client.execute(uri: "/v1/tasks/\(Self.unknownTask)/dismiss", method: .post, headers: viewer.withToken)
            #expect(forbidden.status == .forbidden)
            #expect(forbidden.json?["type"] as? String == "forbidden")
        }
    }

    @Test func logoutAndKeyDeletionEndTheSession() async throws {
        try await withAPI { client, store, credentials in
            let login = try await Self.login(client, credentials.basic(.operator))
            let withoutToken = try await client.execute(uri: "/ui/logout", method: .post, headers: login.headers)
            #expect(withoutToken.status == .forbidden, "logging out is a state change too")
            let out = try await client.execute(uri: "/ui/logout", method: .post, headers: login.withToken)
            #expect(out.status == .noContent)
            #expect(out.headers[.setCookie] == "\(SessionCookie.name)=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict")
            let after = try await client.execute(uri: "/v1/tasks", method: .get, headers: login.headers)
            #expect(after.status == .unauthorized)
            #expect(after.json?["type"] as? String == "session_ended")
            #expect(after.headers[.wwwAuthenticate] == nil, "no Basic challenge: a browser would open its own dialog")
            let record = store.keyspace.auth.browserSession(BrowserSessionStore.digest(login.cookie))
            #expect(try await store.redis.send(RedisCommand("EXISTS", [.string(record)], keys: [record])).int == 0)

            // Deleting the key ends the sessions opened with it.
            let (created, secret) = try await store.apiKeys.create(role: .viewer, name: "short-lived")
            let session = try await Self.login(client, [.authorization: "Bearer \(created.key):\(secret)"])
            #expect(try await client.execute(uri: "/v1/tasks", method: .get, headers: session.headers).status == .ok)
            #expect(try await client.execute(uri: "/v1/apikeys/\(created.key)", method: .delete, headers: credentials.basic(.admin)).status == .noContent)
            #expect(try await client.execute(uri: "/v1/tasks", method: .get, headers: session.headers).status == .unauthorized)
        }
    }

    /// Redis drops the hash at its TTL (checked above); the engine also refuses it once its
    /// `expiresAt` has passed, whatever Redis still holds: shown with a pinned clock moved on.
    @Test func aSessionEndsAtItsExpiry() async throws {
        let clock = PinnedClock()
        try await withAPI(clock: clock, sessionLifetime: .seconds(600)) { client, _, credentials in
            let login = try await Self.login(client, credentials.basic(.viewer))
            #expect(try await client.execute(uri: "/ui/session", method: .get, headers: login.headers).status == .ok)
            clock.advance(by: .seconds(599))
            #expect(try await client.execute(uri: "/ui/session", method: .get, headers: login.headers).status == .ok)
            clock.advance(by: .seconds(2))
            #expect(try await client.execute(uri: "/ui/session", method: .get, headers: login.headers).status == .unauthorized)
        }
    }

    @Test func whoMayLogIn() async throws {
        try await withAPI { client, _, credentials in
            let worker = try await client.execute(uri: "/ui/login", method: .post, headers: credentials.basic(.worker))
            #expect(worker.status == .forbidden, "a worker key opens no dashboard")
            let wrong = try await client.execute(uri: "/ui/login", method: .post, headers: [.authorization: "Bearer \(credentials.byRole[.viewer]!.key):wrong-secret"])
            #expect(wrong.status == .unauthorized)
            #expect(wrong.headers[.setCookie] == nil)
            #expect(wrong.headers[.wwwAuthenticate] == nil)
            let login = try await Self.login(client, credentials.basic(.viewer))
            let cookieOnly = try await client.execute(uri: "/ui/login", method: .post, headers: login.headers)
            #expect(cookieOnly.status == .unauthorized, "a cookie is no way to get a cookie")
            // The page itself is served to anyone, and holds no data.
            let page = try await client.execute(uri: "/ui", method: .get)
            #expect(page.status == .ok)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            #expect(page.headers[.contentSecurityPolicy]?.contains("default-src 'none'") == true)
            #expect(String(buffer: page.body).contains("id=\"login-form\""))
            for asset in ["/ui/app.js", "/ui/app.css"] {
                #expect(try await client.execute(uri: asset, method: .get).status == .ok, "\(asset)")
            }
        }
    }

    /// The test client is the trusted proxy, so X-Forwarded-For chooses the client address.
    @Test func failedLoginsAndUnknownCookiesAreThrottled() async throws {
        let origin = RequestOrigin(trustedProxies: [IPNetwork("127.0.0.0/8")!])
        try await withAPI(.live, origin: origin, throttleLimits: AuthThrottleLimits(window: .seconds(60), perSource: 3, perKey: 100)) { client, store, credentials in
            let viewer = try #require(credentials.byRole[.viewer])
            let from = { (address: String) -> HTTPFields in [HTTPField.Name("X-Forwarded-For")!: address] }
            for attempt in 1...3 {
                let wrong = try await client.execute(uri: "/ui/login", method: .post, headers: [.authorization: "Bearer \(viewer.key):wrong-\(attempt)"] + from("198.51.100.20") + jsonContent)
                #expect(wrong.status == .unauthorized)
            }
            let blocked = try await client.execute(uri: "/ui/login", method: .post, headers: credentials.basic(.viewer) + from("198.51.100.20") + jsonContent)
            #expect(blocked.status == .tooManyRequests, "the right secret after too many failed logins")
            #expect(blocked.headers[.retryAfter] != nil)

            // Guessed cookies count per address; a good session from another address is untouched.
            let good = try await client.execute(uri: "/ui/login", method: .post, headers: credentials.basic(.viewer) + from("198.51.100.30") + jsonContent)
            try #require(good.status == .ok, "a login from another address: \(good.status) \(String(buffer: good.body))")
            let cookie = try #require(good.headers[.setCookie]?.split(separator: ";").first.map(String.init))
            for attempt in 1...3 {
                let guess = try await client.execute(uri: "/v1/tasks", method: .get,
                                                     headers: [.cookie: "\(SessionCookie.name)=\(String(repeating: "\(attempt)", count: 64))"] + from("198.51.100.21"))
                #expect(guess.status == .unauthorized)
            }
            let guessing = try await client.execute(uri: "/v1/tasks", method: .get, headers: [.cookie: cookie] + from("198.51.100.21"))
            #expect(guessing.status == .tooManyRequests, "a valid cookie from an address that guessed too often")
            #expect(try await client.execute(uri: "/v1/tasks", method: .get, headers: [.cookie: cookie] + from("198.51.100.30")).status == .ok)

            // Logins and logouts are in the audit trail, under the key's id and never with the cookie.
            let login = try await Self.login(client, credentials.basic(.operator) + from("198.51.100.40"))
            #expect(try await client.execute(uri: "/ui/logout", method: .post, headers: login.withToken + from("198.51.100.40") + jsonContent).status == .noContent)
            let operatorKey = try #require(credentials.byRole[.operator]).key
            let entries = try await eventuallyValue { () -> [[String: String]]? in
                let entries = try await store.audit.newest(50)
                return entries.contains { $0["action"] == "POST /ui/logout" } ? entries : nil
            }
            let logins = entries.filter { $0["action"] == "POST /ui/login" && $0["key"] == operatorKey && $0["status"] == "200" }
            let logouts = entries.filter { $0["action"] == "POST /ui/logout" && $0["key"] == operatorKey && $0["status"] == "204" }
            #expect(logins.count == 1 && logouts.count == 1, "\(entries)")
            #expect(!entries.contains { $0.values.contains { $0.contains(login.cookie) || $0.contains(login.csrf) } })
        }
    }
}

/// Polls `value` until it is non-nil (at most 5 s).
func eventuallyValue<T>(_ value: () async throws -> T?) async throws -> T {
    let deadline = ContinuousClock.now + .seconds(5)
    while ContinuousClock.now < deadline {
        if let found = try await value() { return found }
        try await Task.sleep(for: .milliseconds(50))
    }
    return try #require(try await value(), "no value within 5 s")
}
