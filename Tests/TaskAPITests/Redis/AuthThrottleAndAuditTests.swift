import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import TaskAPI
import TaskEngine
import TestSupport
import Testing

/// Failed authentications are throttled in Redis by client address and by key id (429 with
/// `Retry-After`, across replicas), and every state-changing call and every refusal lands in the
/// audit stream (issue 13, finding 6 and the audit stream).
@Suite(.tags(.redis)) struct AuthThrottleAndAuditTests {
    static let limits = AuthThrottleLimits(window: .seconds(60), perSource: 5, perKey: 8)
    /// The test client is the trusted proxy, so X-Forwarded-For chooses the client address.
    static let origin = RequestOrigin(trustedProxies: [IPNetwork("127.0.0.0/8")!])

    static func from(_ address: String) -> HTTPFields { [HTTPField.Name("X-Forwarded-For")!: address] }

    static func basic(_ key: String, _ secret: String) -> HTTPFields {
        [.authorization: "Basic " + Data("\(key):\(secret)".utf8).base64EncodedString()]
    }

    @Test func anAddressIsRefusedAfterItsFailuresEvenWithTheRightSecret() async throws {
        try await withAPI(.live, origin: Self.origin, throttleLimits: Self.limits) { client, _, credentials in
            let viewer = try #require(credentials.byRole[.viewer])
            for attempt in 1...5 {
                let wrong = try await client.execute(uri: "/v1/tasks", method: .get, headers: Self.basic(viewer.key, "wrong-\(attempt)") + Self.from("198.51.100.7"))
                #expect(wrong.status == .unauthorized, "attempt \(attempt)")
            }
            let blocked = try await client.execute(uri: "/v1/tasks", method: .get, headers: credentials.basic(.viewer) + Self.from("198.51.100.7"))
            #expect(blocked.status == .tooManyRequests, "the right secret from a blocked address")
            #expect(blocked.json?["type"] as? String == "too_many_failed_authentications")
            let retryAfter = try #require(blocked.headers[.retryAfter].flatMap { Int($0) })
            #expect((1...60).contains(retryAfter))
            let elsewhere = try await client.execute(uri: "/v1/tasks", method: .get, headers: credentials.basic(.viewer) + Self.from("198.51.100.8"))
            #expect(elsewhere.status == .ok, "another address is not blocked")
            // A malformed credential counts too; a missing one does not.
            for _ in 1...10 {
                let missing = try await client.execute(uri: "/v1/tasks", method: .get, headers: Self.from("198.51.100.9"))
                #expect(missing.status == .unauthorized)
            }
            let fine = try await client.execute(uri: "/v1/tasks", method: .get, headers: credentials.basic(.viewer) + Self.from("198.51.100.9"))
            #expect(fine.status == .ok)
        }
    }

    @Test func aKeyIdIsRefusedAfterFailuresFromManyAddresses() async throws {
        try await withAPI(.live, origin: Self.origin, throttleLimits: Self.limits) { client, _, credentials in
            let target = try #require(credentials.byRole[.operator])
            for attempt in 1...8 {
                let wrong = try await client.execute(uri: "/v1/tasks", method: .get,
                                                     headers: Self.basic(target.key, "guess-\(attempt)") + Self.from("203.0.113.\(attempt)"))
                #expect(wrong.status == .unauthorized)
            }
            let locked = try await client.execute(uri: "/v1/tasks", method: .get, headers: credentials.basic(.operator) + Self.from("203.0.113.99"))
            #expect(locked.status == .tooManyRequests, "the attacked key id is refused from a fresh address")
            let other = try await client.execute(uri: "/v1/tasks", method: .get, headers: credentials.basic(.viewer) + Self.from("203.0.113.99"))
            #expect(other.status == .ok, "other keys are not")
        }
    }

    @Test func changesAndRefusalsAreAudited() async throws {
        try await withAPI(.live, origin: Self.origin, throttleLimits: Self.limits) { client, store, credentials in
            let json: HTTPFields = [.contentType: "application/json"]
            let created = try await client.execute(uri: "/v1/tasks", method: .post, headers: credentials.basic(.operator) + json + Self.from("192.0.2.10")
                                                   + [HTTPField.Name("X-Request-Id")!: "req-audit-1"], body: ByteBuffer(string: #"{"commandType":"audited"}"#))
            #expect(created.status == .accepted)
            let id = try #require(created.json?["taskId"] as? String)
            _ = try await client.execute(uri: "/v1/tasks/\(id)", method: .get, headers: credentials.basic(.viewer))
            let forbidden = try await client.execute(uri: "/v1/tasks/\(id)/actions/cancel", method: .post, headers: credentials.basic(.viewer) + Self.from("192.0.2.11"))
            #expect(forbidden.status == .forbidden)
            let secret = "a-wrong-secret-\(UUID().uuidString)"
            let viewer = try #require(credentials.byRole[.viewer])
            let wrong = try await client.execute(uri: "/v1/tasks", method: .get, headers: Self.basic(viewer.key, secret) + Self.from("192.0.2.12"))
            #expect(wrong.status == .unauthorized)

            var entries: [[String: String]] = []
            let all = try await eventually {
                entries = try await store.audit.newest(10)
                return entries.count >= 3
            }
            #expect(all, "\(entries)")
            #expect(entries.count == 3, "the GET is not audited: \(entries.map { $0["action"] ?? "" })")
            let byStatus = Dictionary(entries.map { ($0["status"] ?? "", $0) }, uniquingKeysWith: { a, _ in a })
            let create = try #require(byStatus["202"])
            #expect(create["action"] == "POST /v1/tasks")
            #expect(create["key"] == credentials.byRole[.operator]?.key)
            #expect(create["role"] == "operator")
            #expect(create["request"] == "req-audit-1")
            #expect(create["source"] == "192.0.2.10")
            let refusal = try #require(byStatus["403"])
            #expect(refusal["action"] == "POST /v1/tasks/{taskId}/actions/cancel")
            #expect(refusal["target"] == id)
            #expect(refusal["error"] == "forbidden")
            #expect(refusal["role"] == "viewer")
            let failed = try #require(byStatus["401"])
            #expect(failed["key"] == viewer.key, "the claimed key id")
            #expect(failed["error"] == "invalid_credentials")
            #expect(failed["source"] == "192.0.2.12")
            for entry in entries {
                #expect(!entry.values.contains { $0.contains(secret) || $0.contains(viewer.secret) }, "a secret in the audit stream")
            }
        }
    }
}
