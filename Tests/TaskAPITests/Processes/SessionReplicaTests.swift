import Foundation
import HTTPTypes
import TestSupport
import Testing

/// Browser sessions live in Redis, so every replica honours them and a logout on one ends them on
/// all — the open event streams included.
@Suite(.tags(.processes)) struct SessionReplicaTests {
    @Test func aLogoutOnOneReplicaEndsTheSessionOnAnother() async throws {
        let admin = ("session-admin", "session-secret-\(UUID().uuidString.prefix(8))")
        let prefix = TestEnvironment.uniquePrefix("sessions")
        let replicas = try (0..<2).map { _ in try TaskdProcess(prefix: prefix, admin: admin) }
        defer { for replica in replicas { replica.stopNow() } }
        let adminCaller = Caller(key: admin.0, secret: admin.1)
        for replica in replicas {
            let up = try await eventually(timeout: .seconds(30)) { try await adminCaller.call("GET", replica.base + "/v1/tasks").0 == 200 }
            try #require(up, "replica on port \(replica.port) did not come up")
        }
        let (first, second) = (replicas[0], replicas[1])

        let (status, headers, body) = try await adminCaller.send("POST", first.base + "/ui/login")
        try #require(status == 200)
        let cookie = try #require(headers[.setCookie]?.split(separator: ";").first.map(String.init))
        let csrf = try #require((try JSONSerialization.jsonObject(with: body) as? [String: Any])?["csrfToken"] as? String)
        let browser = Caller(authorization: "")
        let withCookie: HTTPFields = [.cookie: cookie]
        #expect(try await browser.send("GET", second.base + "/v1/tasks", headers: withCookie).status == 200, "the other replica honours the session")

        // A stream on the first replica, opened with the cookie, runs until the session ends.
        let finished = Flag()
        let streamEnded = Task {
            defer { Task { await finished.raise() } }
            return try await browser.send("GET", first.base + "/v1/events", headers: withCookie)
        }
        try await Task.sleep(for: .seconds(1))
        let (out, _, _) = try await browser.send("POST", second.base + "/ui/logout", headers: withCookie + [HTTPField.Name("X-CSRF-Token")!: csrf])
        #expect(out == 204)
        let loggedOut = ContinuousClock.now
        #expect(try await browser.send("GET", first.base + "/v1/tasks", headers: withCookie).status == 401, "the first replica forgot it at once")
        let ended = try await eventually(timeout: .seconds(8)) { await finished.isRaised }
        #expect(ended, "the stream opened with the session did not end after logout")
        if ended {
            let stream = try await streamEnded.value
            #expect(stream.status == 200)
            #expect(String(decoding: stream.body, as: UTF8.self).contains("the browser session ended"))
            #expect(ContinuousClock.now - loggedOut < .seconds(5))
        } else {
            streamEnded.cancel()
        }
    }
}

/// Set once, read by polling.
actor Flag {
    private(set) var isRaised = false
    func raise() { isRaised = true }
}
