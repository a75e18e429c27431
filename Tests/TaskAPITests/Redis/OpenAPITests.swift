import Foundation
import RedisClient
@testable import TaskAPI
import TaskEngine
import TaskEvents
import TestSupport
import Testing

/// `openapi.json` describes exactly the registered routes: an endpoint added without documenting it,
/// or an operation documented that no endpoint serves, fails here rather than in a client.
@Suite(.tags(.redis)) struct OpenAPITests {
    static let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options", "trace"]

    /// The bundled document as served at `/openapi.json`.
    static func document() throws -> [String: Any] {
        let data = try #require(OpenAPIDocument.data, "openapi.json is not bundled")
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "openapi.json is not a JSON object")
    }

    /// Every registered endpoint. Building them only captures the services, so the Redis client is
    /// never run and this needs no Redis.
    static func endpoints() throws -> [Endpoint] {
        let redis = try RedisClient(url: "redis://127.0.0.1:1")
        let store = try TaskStore(redis: redis, configuration: TaskEngineConfiguration(keyspace: TaskKeyspace(prefix: "openapi-test")))
        let keys = APIKeyStore(redis: redis, keyspace: store.keyspace)
        return allEndpoints(APIServices(store: store, keys: keys, authenticator: Authenticator(keys: keys), logger: TestEnvironment.logger), hub: TaskChangeHub(store: store, logger: TestEnvironment.logger))
    }

    /// "METHOD path" of every operation in the document, with its `security` when it sets one.
    static func operations(_ document: [String: Any]) throws -> [String: [Any]?] {
        let paths = try #require(document["paths"] as? [String: [String: Any]], "no paths")
        var operations: [String: [Any]?] = [:]
        for (path, item) in paths {
            for (method, operation) in item where methods.contains(method) {
                operations["\(method.uppercased()) \(path)"] = (operation as? [String: Any])?["security"] as? [Any]
            }
        }
        return operations
    }

    @Test func declaresOpenAPI31() throws {
        let version = try #require(try Self.document()["openapi"] as? String)
        #expect(version.hasPrefix("3.1."), "openapi is \(version), not 3.1.x")
    }

    @Test func documentsExactlyTheRegisteredEndpoints() throws {
        let registered = try Self.endpoints().map { "\($0.method.rawValue) \($0.path)" }
        #expect(registered.count == Set(registered).count, "an endpoint is registered twice")
        let documented = try Self.operations(Self.document())
        let undocumented = Set(registered).subtracting(documented.keys).sorted()
        let unserved = Set(documented.keys).subtracting(registered).sorted()
        #expect(undocumented.isEmpty, "registered but not in openapi.json: \(undocumented)")
        #expect(unserved.isEmpty, "in openapi.json but not registered: \(unserved)")
    }

    /// Open routes say `security: []`; every other route inherits the document's credentials.
    @Test func documentsWhichRoutesNeedCredentials() throws {
        let document = try Self.document()
        #expect((document["security"] as? [Any])?.isEmpty == false, "the document declares no default security")
        let documented = try Self.operations(document)
        for endpoint in try Self.endpoints() {
            let security = documented["\(endpoint.method.rawValue) \(endpoint.path)"] ?? nil
            if endpoint.access == .open {
                #expect(security?.isEmpty == true, "\(endpoint.method.rawValue) \(endpoint.path) is open: it needs security: []")
            } else {
                #expect(security == nil, "\(endpoint.method.rawValue) \(endpoint.path) needs credentials: it must not override security")
            }
        }
    }
}
