import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import RedisClient
import TaskAPI
import TaskEngine
import TaskEvents
import TestSupport
import Testing

/// Redis goes away: requests get 503 at once (not a hang, not a 500), and the API recovers by
/// itself when Redis returns on the same port.
@Suite(.tags(.processes)) struct RedisOutageTests {
    @Test func answers503AndRecovers() async throws {
        let server = try await RedisServerProcess.started()
        let port = server.port
        try await withClient(url: server.url) { redis in
            let keyspace = try TaskKeyspace(prefix: TestEnvironment.uniquePrefix("outage"))
            let store = try TaskStore(redis: redis, configuration: TaskEngineConfiguration(keyspace: keyspace), logger: TestEnvironment.logger)
            try await store.loadScripts()
            let keys = APIKeyStore(redis: redis, keyspace: keyspace)
            let (key, secret) = try await keys.create(role: .admin, name: "outage")
            TestSecrets.record(secret)
            let auth: HTTPFields = [.authorization: "Bearer \(key.key):\(secret)", .contentType: "application/json"]
            let app = Application(router: buildRouter(store: store, keys: keys, hub: TaskChangeHub(store: store, logger: TestEnvironment.logger), logger: TestEnvironment.logger))
            try await app.test(.router) { client in
                let created = try await client.execute(uri: "/v1/tasks", method: .post, headers: auth, body: ByteBuffer(string: #"{"commandType":"x"}"#))
                #expect(created.status == .accepted)
                let id = try #require(created.json?["taskId"] as? String)

                await server.stop()
                // Every kind of route: a read, a write, a dialect read; cached credentials keep auth working.
                for (uri, method) in [("/v1/tasks/\(id)", HTTPRequest.Method.get), ("/v1/tasks", .post), ("/v1/crdb_tasks", .get)] {
                    let response = try await client.execute(uri: uri, method: method, headers: auth, body: method == .post ? ByteBuffer(string: #"{"commandType":"x"}"#) : nil)
                    #expect(response.status == .serviceUnavailable, "\(method) \(uri): \(response.status)")
                    #expect(response.headers[.retryAfter] == "1")
                }
                let ready = try await client.execute(uri: "/health/ready", method: .get)
                #expect(ready.status == .serviceUnavailable)

                let restarted = try RedisServerProcess(port: port)
                let recovered = try await eventually(timeout: .seconds(15)) {
                    try await client.execute(uri: "/health/ready", method: .get).status == .ok
                }
                #expect(recovered)
                // The restarted Redis is empty (no persistence here): put the key back, and writes work again.
                try await keys.put(key: key.key, secret: secret, role: .admin, name: "outage")
                let again = try await client.execute(uri: "/v1/tasks", method: .post, headers: auth, body: ByteBuffer(string: #"{"commandType":"x"}"#))
                #expect(again.status == .accepted)
                await restarted.stop()
            }
        }
    }
}
