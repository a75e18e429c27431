import Foundation
import RESP
import RedisClient
import TestSupport
import Testing

@Suite(.tags(.processes)) struct RedisSecurityTests {
    /// An ACL user limited to its own keys authenticates with `AUTH user pass` from the URL.
    @Test func aclUser() async throws {
        let prefix = TestEnvironment.uniquePrefix()
        let user = "taskd-test-\(UUID().uuidString.prefix(8))"
        let password = "p@ss:\(UUID().uuidString)"
        TestSecrets.record(password)
        try await withClient { admin in
            _ = try await admin.send(RedisCommand("ACL", ["SETUSER", .string(user), "reset", "on", .string(">" + password), .string("~\(prefix):*"), "+@all"]))
            // The user goes afterwards, also when the checks throw (a `defer` cannot await).
            let deleteUser = RedisCommand("ACL", ["DELUSER", .string(user)])
            do {
                try await checkUser()
            } catch {
                _ = try? await admin.send(deleteUser)
                throw error
            }
            _ = try await admin.send(deleteUser)
        }

        func checkUser() async throws {
            let base = TestEnvironment.redisURL.replacingOccurrences(of: "redis://", with: "")
            let escaped = password.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            try await withClient(url: "redis://\(user):\(escaped)@\(base)") { redis in
                #expect(try await redis.send(.set("\(prefix):k", "v")) == .simpleString("OK"))
                let whoami = try await redis.send(RedisCommand("ACL", ["WHOAMI"]))
                #expect(whoami.string == user)
                await #expect(throws: RedisServerError.self) { try await redis.send(.get("outside:\(prefix)")) }
                _ = try await redis.send(.del(["\(prefix):k"]))
            }
            // A wrong password: the connection attempt fails with authenticationFailed, and the secret is not in the message.
            await #expect {
                try await withClient(url: "redis://\(user):wrong-secret@\(base)") { try await $0.send(.ping()) }
            } throws: { error in
                guard let error = error as? RedisClientError else { return false }
                return error.code == .authenticationFailed && !"\(error)".contains("wrong-secret")
            }
        }
    }

    @Test func selectsTheDatabaseFromTheURL() async throws {
        let key = TestEnvironment.uniquePrefix()
        try await withClient(url: TestEnvironment.redisURL + "/3") { db3 in
            _ = try await db3.send(.set(key, "in-3"))
            let inDatabase0 = try await withClient { db0 in try await db0.send(.get(key)) }
            #expect(inDatabase0 == .null)
            #expect(try await db3.send(.get(key)) == "in-3")
            _ = try await db3.send(.del([key]))
        }
    }

    /// `rediss://` against `redis-server --tls-port` with a self-signed CA: verified, and refused
    /// when the CA is not trusted.
    @Test func tls() async throws {
        guard let dir = TestEnvironment.tlsDirectory else {
            Issue.record("TASKD_TEST_TLS_DIR is not set: run the tests with ./dev test, which makes the certificates")
            return
        }
        let server = try RedisServerProcess(arguments: [
            "--tls-port", "--tls-cert-file", dir + "/server.crt", "--tls-key-file", dir + "/server.key",
            "--tls-ca-cert-file", dir + "/ca.crt", "--tls-auth-clients", "no",
        ])
        let url = "rediss://127.0.0.1:\(server.port)"
        try await withClient(url: url, configure: { $0.tls?.caFile = dir + "/ca.crt" }) { redis in
            #expect(try await redis.send(.ping()) == .simpleString("PONG"))
            try await redis.subscribe(channels: ["tls-channel"]) { events in
                _ = try await redis.send(.publish("tls-channel", "secure"))
                var iterator = events.makeAsyncIterator()
                guard case .message(let message) = await iterator.next() else {
                    Issue.record("no message over TLS")
                    return
                }
                #expect(String(buffer: message.payload) == "secure")
            }
        }
        // The system roots do not include our test CA: verification must fail.
        await #expect {
            try await withClient(url: url, configure: { $0.connectTimeout = .seconds(1) }) { try await $0.send(.ping()) }
        } throws: { error in
            (error as? RedisClientError)?.code == .tlsFailure
        }
        await server.stop()
    }
}
