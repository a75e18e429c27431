import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
@testable import TaskAPI
@testable import TaskEngine
import TaskEvents
import TestSupport
import Testing

/// Every route × {no credentials, a wrong secret, each role, each credential style}: 401 without or
/// with bad credentials, 403 for a role the route does not allow, and neither for the roles it does.
@Suite(.tags(.redis)) struct AccessMatrixTests {
    /// A concrete path for a template: ids that are well-formed but unknown.
    /// (`/v1/events` streams until the client leaves: an empty filter makes it answer 400 at once,
    /// which still shows that authorization let the call through.)
    static func concrete(_ template: String) -> String {
        if template == "/v1/events" { return "/v1/events?commandType=" }
        return template
            .replacingOccurrences(of: "{taskId}", with: "01a205c3-7630-7000-917e-31b5e9ea6dbe")
            .replacingOccurrences(of: "{task_id}", with: "01a205c3-7630-7000-917e-31b5e9ea6dbe")
            .replacingOccurrences(of: "{uid}", with: "01a205c3-7630-7000-917e-31b5e9ea6dbe")
            .replacingOccurrences(of: "{id}", with: "01a205c3-7630-7000-917e-31b5e9ea6dbe")
            .replacingOccurrences(of: "{bdb_uid}", with: "1")
            .replacingOccurrences(of: "{key}", with: "tk_unknown")
    }

    @Test func everyRouteEveryRole() async throws {
        // Every route is called with a wrong secret: far more failures than the throttle allows.
        try await withAPI(throttleLimits: AuthThrottleLimits(perSource: 1_000_000, perKey: 1_000_000)) { client, store, credentials in
            let services = APIServices(store: store, keys: APIKeyStore(redis: store.redis, keyspace: store.keyspace),
                                       authenticator: Authenticator(keys: APIKeyStore(redis: store.redis, keyspace: store.keyspace)), logger: TestEnvironment.logger)
            let endpoints = allEndpoints(services, hub: TaskChangeHub(store: store, logger: TestEnvironment.logger))
            #expect(endpoints.count >= 25)
            for endpoint in endpoints {
                let uri = Self.concrete(endpoint.path)
                let label = "\(endpoint.method) \(endpoint.path)"
                // Bodies: an empty object, so that a handler that gets through auth answers 4xx, not 5xx.
                let body = endpoint.method == .post ? ByteBuffer(string: "{}") : nil
                func call(_ headers: HTTPFields) async throws -> HTTPResponse.Status {
                    try await client.execute(uri: uri, method: endpoint.method, headers: headers + jsonContent, body: body).status
                }
                if endpoint.access == .open {
                    #expect(try await call([:]) == .ok, "\(label) is open")
                    continue
                }
                #expect(try await call([:]) == .unauthorized, "\(label) without credentials")
                let admin = try #require(credentials.byRole[.admin])
                #expect(try await call([.authorization: "Bearer \(admin.key):wrong-secret"]) == .unauthorized, "\(label) with a wrong secret")
                #expect(try await call([.authorization: "Basic !!!"]) == .unauthorized, "\(label) with malformed Basic")
                for role in APIRole.allCases {
                    let status = try await call(credentials.basic(role))
                    if endpoint.access.allows(role) {
                        #expect(status != .unauthorized && status != .forbidden, "\(label) as \(role.rawValue): \(status)")
                        #expect(status.code < 500, "\(label) as \(role.rawValue): \(status)")
                    } else {
                        #expect(status == .forbidden, "\(label) as \(role.rawValue): \(status)")
                    }
                }
                // The other two credential styles of the seeds reach the same decision.
                let (key, secret) = admin
                let cloudStyle = try await call([HTTPField.Name("x-api-key")!: key, HTTPField.Name("x-api-secret-key")!: secret])
                let bearer = try await call([.authorization: "Bearer \(key):\(secret)"])
                #expect(cloudStyle != .unauthorized && bearer != .unauthorized, "\(label) with Cloud and Bearer credentials")

                // The dashboard's session cookie: a credential only on the page's routes (with the
                // role of its key), and with a CSRF token only for state changes. A fresh session
                // each time, since one of the routes is logout.
                for role in [APIRole.viewer, .operator] {
                    let session = try await BrowserSessionTests.login(client, credentials.basic(role))
                    if endpoint.acceptsSession {
                        let status = try await call(session.withToken)
                        if endpoint.access.allows(role) {
                            #expect(status != .unauthorized && status != .forbidden && status.code < 500, "\(label) with a \(role.rawValue) session: \(status)")
                        } else {
                            #expect(status == .forbidden, "\(label) with a \(role.rawValue) session: \(status)")
                        }
                        if AuditTrail.changingMethods.contains(endpoint.method) {
                            let fresh = try await BrowserSessionTests.login(client, credentials.basic(role))
                            #expect(try await call(fresh.headers) == .forbidden, "\(label) with a session but no CSRF token")
                        }
                    } else {
                        #expect(try await call(session.withToken) == .unauthorized, "\(label) refuses the session cookie")
                    }
                }
            }
            #expect(endpoints.filter(\.acceptsSession).count == DashboardController.pageRoutes.count, "a page route is not registered")
        }
    }
}
