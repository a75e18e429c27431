import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import TaskAPI
import TaskEngine
import TestSupport
import Testing

/// Bad input per write route: 4xx in the route's dialect, never 5xx, never a state change.
@Suite(.tags(.redis)) struct BadInputTests {
    static let unknownId = "01a205c3-7630-7000-917e-31b5e9ea6dbe"

    /// (route, body, expected status, expected error code)
    static let cases: [(String, String, HTTPResponse.Status, String)] = [
        ("/v1/tasks", "{not json", .badRequest, "invalid_json"),
        ("/v1/tasks", "[1,2]", .badRequest, "invalid_json"),
        ("/v1/tasks", "{}", .badRequest, "missing_field"),
        ("/v1/tasks", #"{"commandType":7}"#, .badRequest, "invalid_field"),
        ("/v1/tasks", #"{"commandType":"a b"}"#, .badRequest, "invalid_argument"),
        ("/v1/tasks", #"{"commandType":"x","comandType":"typo"}"#, .badRequest, "unknown_field"),
        ("/v1/tasks", #"{"commandType":"x","priority":5000}"#, .badRequest, "invalid_argument"),
        ("/v1/tasks", #"{"commandType":"x","maxAttempts":0}"#, .badRequest, "invalid_argument"),
        ("/v1/tasks", #"{"commandType":"x","runAt":"tomorrow"}"#, .badRequest, "invalid_field"),
        ("/v1/tasks", #"{"commandType":"x","kind":"job"}"#, .badRequest, "invalid_field"),
        ("/v1/tasks", #"{"commandType":"x","description":"\#(String(repeating: "d", count: 5000))"}"#, .badRequest, "invalid_field"),
        ("/v1/tasks", #"{"commandType":"x","ops":["a","a"]}"#, .badRequest, "invalid_argument"),
        ("/v1/workers/claim", #"{"workerId":"w"}"#, .badRequest, "missing_field"),
        ("/v1/workers/claim", #"{"workerId":"w","commandTypes":[]}"#, .badRequest, "invalid_field"),
        ("/v1/workers/claim", #"{"workerId":"w","commandTypes":["x"],"waitSeconds":99}"#, .badRequest, "invalid_field"),
        ("/v1/workers/claim", #"{"workerId":"w","commandTypes":["x"],"leaseSeconds":0}"#, .badRequest, "invalid_field"),
        ("/v1/tasks/\(unknownId)/heartbeat", #"{"leaseToken":"t","progress":101}"#, .badRequest, "invalid_field"),
        ("/v1/tasks/\(unknownId)/heartbeat", #"{"leaseToken":"t","progress":"lots"}"#, .badRequest, "invalid_field"),
        ("/v1/tasks/\(unknownId)/heartbeat", #"{"progress":5}"#, .badRequest, "missing_field"),
        ("/v1/tasks/\(unknownId)/heartbeat", #"{"leaseToken":"t","ops":{"1":{"progress":500}}}"#, .badRequest, "invalid_field"),
        ("/v1/tasks/\(unknownId)/heartbeat", #"{"leaseToken":"t"}"#, .notFound, "task_not_found"),
        ("/v1/tasks/not-a-uuid/complete", #"{"leaseToken":"t"}"#, .notFound, "task_not_found"),
        ("/v1/tasks/\(unknownId)/fail", #"{"leaseToken":"t","retryable":"yes"}"#, .badRequest, "invalid_field"),
    ]

    @Test func badBodiesAreRefusedWithoutAStateChange() async throws {
        try await withAPI { client, store, credentials in
            for (uri, body, status, code) in Self.cases {
                let role: APIRole = uri.hasPrefix("/v1/tasks") && !uri.contains("/heartbeat") && !uri.contains("/complete") && !uri.contains("/fail") ? .operator : .worker
                let response = try await client.execute(uri: uri, method: .post, headers: credentials.basic(role) + jsonContent, body: ByteBuffer(string: body))
                #expect(response.status == status, "\(uri) \(body.prefix(80)): \(response.status)")
                #expect(response.json?["type"] as? String == code, "\(uri) \(body.prefix(80)): \(String(buffer: response.body))")
            }
            let page = try await store.list(TaskQuery())
            #expect(page.tasks.isEmpty, "a refused request created a task")
        }
    }

    @Test func badQueryAndHeaders() async throws {
        try await withAPI { client, _, credentials in
            let viewer = credentials.basic(.viewer)
            #expect(try await client.execute(uri: "/v1/tasks?limit=0", method: .get, headers: viewer).status == .badRequest)
            #expect(try await client.execute(uri: "/v1/tasks?status=done", method: .get, headers: viewer).status == .badRequest)
            #expect(try await client.execute(uri: "/v1/tasks?cursor=garbage", method: .get, headers: viewer).status == .badRequest)
            let ttl = try await client.execute(uri: "/v1/crdb_tasks/\(Self.unknownId)", method: .get, headers: viewer + [HTTPField.Name("X-Result-TTL")!: "soon"])
            #expect(ttl.status == .badRequest)
            #expect(ttl.json?["error_code"] as? String == "invalid_header")
            let force = try await client.execute(uri: "/v1/crdb_tasks/\(Self.unknownId)/actions/cancel?force=maybe", method: .post, headers: credentials.basic(.operator))
            #expect(force.status == .badRequest)
            #expect(try await client.execute(uri: "/v1/actions/bdb/..%2F", method: .get, headers: viewer).status.code < 500)
        }
    }
}
