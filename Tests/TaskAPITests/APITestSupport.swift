import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import RedisClient
import TaskAPI
import TaskEngine
import TaskEvents
import TestSupport

/// One credential per role, created for each test under its own key prefix.
struct TestCredentials: Sendable {
    var byRole: [APIRole: (key: String, secret: String)]

    func basic(_ role: APIRole) -> HTTPFields {
        let pair = byRole[role]!
        return [.authorization: "Basic " + Data("\(pair.key):\(pair.secret)".utf8).base64EncodedString()]
    }
}

/// Runs `body` against the router (no network; `.live` for a socket) over a store on the test Redis with a fresh prefix.
func withAPI<T: Sendable>(
    clock: any TaskClock = SystemClock(),
    _ testing: TestingSetup = .router,
    origin: RequestOrigin = RequestOrigin(),
    throttleLimits: AuthThrottleLimits = AuthThrottleLimits(),
    sessionLifetime: Duration = .seconds(28_800),
    _ body: @Sendable (any TestClientProtocol, TaskStore, TestCredentials) async throws -> T
) async throws -> T {
    try await withClient { redis in
        let keyspace = try TaskKeyspace(prefix: TestEnvironment.uniquePrefix("api"), shardCount: TestEnvironment.shards)
        let store = try TaskStore(redis: redis, configuration: TaskEngineConfiguration(keyspace: keyspace), clock: clock, logger: TestEnvironment.logger)
        try await store.loadScripts()
        let keys = APIKeyStore(redis: redis, keyspace: keyspace)
        var credentials = TestCredentials(byRole: [:])
        for role in APIRole.allCases {
            let (key, secret) = try await keys.create(role: role, name: "test \(role.rawValue)")
            credentials.byRole[role] = (key.key, secret)
            TestSecrets.record(secret)
        }
        let hub = TaskChangeHub(store: store, logger: TestEnvironment.logger)
        let app = Application(router: buildRouter(store: store, keys: keys, hub: hub, origin: origin, throttleLimits: throttleLimits,
                                                          sessionLifetime: sessionLifetime, logger: TestEnvironment.logger),
                              configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        let frozen = credentials
        return try await app.test(testing) { client in try await body(client, store, frozen) }
    }
}

extension TestResponse {
    var json: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any]
    }

    var jsonArray: [[String: Any]]? {
        (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [[String: Any]]
    }
}

extension HTTPFields {
    static func + (a: HTTPFields, b: HTTPFields) -> HTTPFields {
        var merged = a
        merged.append(contentsOf: b)
        return merged
    }
}

let jsonContent: HTTPFields = [.contentType: "application/json"]
