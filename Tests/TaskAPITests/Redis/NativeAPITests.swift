import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import TaskAPI
import TaskEngine
import TestSupport
import Testing

@Suite(.tags(.redis)) struct NativeAPITests {
    @Test func createGetAndWorkerLifecycle() async throws {
        try await withAPI { client, store, credentials in
            let operatorHeaders = credentials.basic(.operator) + jsonContent
            let created = try await client.execute(uri: "/v1/tasks", method: .post, headers: operatorHeaders,
                                                   body: ByteBuffer(string: #"{"commandType":"backup","description":"nightly","params":{"bdb":1},"objectName":"bdb:1","ops":["1"]}"#))
            #expect(created.status == .accepted)
            let taskId = try #require(created.json?["taskId"] as? String)
            #expect(created.headers[.location]?.hasSuffix("/v1/tasks/\(taskId)") == true)
            #expect(created.json?["status"] as? String == "received")

            let fetched = try await client.execute(uri: "/v1/tasks/\(taskId)", method: .get, headers: credentials.basic(.viewer))
            #expect(fetched.status == .ok)
            #expect(fetched.headers[.eTag] == "\"1\"")
            let unchanged = try await client.execute(uri: "/v1/tasks/\(taskId)", method: .get, headers: credentials.basic(.viewer) + [.ifNoneMatch: "\"1\""])
            #expect(unchanged.status == .notModified)

            let workerHeaders = credentials.basic(.worker) + jsonContent
            let claim = try await client.execute(uri: "/v1/workers/claim", method: .post, headers: workerHeaders,
                                                 body: ByteBuffer(string: #"{"workerId":"w1","commandTypes":["backup"]}"#))
            #expect(claim.status == .ok)
            let token = try #require(claim.json?["leaseToken"] as? String)
            #expect(claim.json?["taskId"] as? String == taskId)

            let beat = try await client.execute(uri: "/v1/tasks/\(taskId)/heartbeat", method: .post, headers: workerHeaders,
                                                body: ByteBuffer(string: #"{"leaseToken":"\#(token)","progress":40,"state":"copying","ops":{"1":{"progress":40,"op_name":"copy"}}}"#))
            #expect(beat.status == .ok)
            #expect(beat.json?["cancelRequested"] as? Bool == false)

            let stale = try await client.execute(uri: "/v1/tasks/\(taskId)/complete", method: .post, headers: workerHeaders,
                                                 body: ByteBuffer(string: #"{"leaseToken":"not-the-token"}"#))
            #expect(stale.status == .conflict)
            #expect(stale.json?["type"] as? String == "stale_lease")

            let done = try await client.execute(uri: "/v1/tasks/\(taskId)/complete", method: .post, headers: workerHeaders,
                                                body: ByteBuffer(string: #"{"leaseToken":"\#(token)","response":{"resourceId":77899}}"#))
            #expect(done.status == .ok)
            let final = try await client.execute(uri: "/v1/tasks/\(taskId)", method: .get, headers: credentials.basic(.viewer))
            #expect(final.json?["status"] as? String == "processing-completed")
            #expect((final.json?["response"] as? [String: Any])?["resourceId"] as? Int == 77899)

            let action = try await client.execute(uri: "/v1/actions/\(taskId)", method: .get, headers: credentials.basic(.viewer))
            #expect(action.json?["status"] as? String == "completed")
            #expect((action.json?["pending_ops"] as? [String: Any])?["1"] != nil)
            _ = store
        }
    }

    /// README "JSON field order": two reads of the same task are the same bytes, fields in the
    /// documented order, caller JSON (`params`, `response`, ops) with sorted keys, in every dialect.
    @Test func sameTaskSameBytes() async throws {
        try await withAPI { client, _, credentials in
            let created = try await client.execute(uri: "/v1/tasks", method: .post, headers: credentials.basic(.operator) + jsonContent,
                                                   body: ByteBuffer(string: #"{"commandType":"order","description":"d","params":{"z":1,"a":{"y":[1,2],"b":"é \u2028"}},"objectName":"o","ops":["1","2"]}"#))
            let taskId = try #require(created.json?["taskId"] as? String)
            let workerHeaders = credentials.basic(.worker) + jsonContent
            let claim = try await client.execute(uri: "/v1/workers/claim", method: .post, headers: workerHeaders,
                                                 body: ByteBuffer(string: #"{"workerId":"w-order","commandTypes":["order"]}"#))
            #expect(String(buffer: claim.body).hasPrefix(#"{"taskId":"\#(taskId)","commandType":"order","params":{"a":{"b":"é \u2028","y":[1,2]},"z":1},"ops":["1","2"],"attempt":1,"#))
            let token = try #require(claim.json?["leaseToken"] as? String)
            _ = try await client.execute(uri: "/v1/tasks/\(taskId)/heartbeat", method: .post, headers: workerHeaders,
                                         body: ByteBuffer(string: #"{"leaseToken":"\#(token)","progress":40,"ops":{"2":{"progress":5,"op_name":"b"},"1":{"op_name":"a","progress":40}}}"#))
            for uri in ["/v1/tasks/\(taskId)", "/v1/actions/\(taskId)", "/v1/crdb_tasks/\(taskId)?verbose=true", "/kapi/actions/\(taskId)"] {
                let first = try await client.execute(uri: uri, method: .get, headers: credentials.basic(.viewer))
                let second = try await client.execute(uri: uri, method: .get, headers: credentials.basic(.viewer))
                #expect(first.status == .ok, "\(uri)")
                #expect(first.body == second.body, "\(uri): \(String(buffer: first.body)) vs \(String(buffer: second.body))")
            }
            let native = String(buffer: try await client.execute(uri: "/v1/tasks/\(taskId)", method: .get, headers: credentials.basic(.viewer)).body)
            #expect(native.hasPrefix(#"{"taskId":"\#(taskId)","commandType":"order","status":"processing-in-progress","description":"#), "\(native)")
            #expect(native.contains(#","progress":40,"lifecycleStatus":"#), "\(native)")
            #expect(native.contains(#","taskDescription":"d","objectName":"o","kind":"task","attempt":1,"version":"#), "\(native)")
            let action = String(buffer: try await client.execute(uri: "/v1/actions/\(taskId)", method: .get, headers: credentials.basic(.viewer)).body)
            #expect(action.contains(#""pending_ops":{"1":{"heartbeat":"#), "\(action)")
        }
    }

    /// Found while fuzzing against openapi.json: an integer nodeUid was refused as "must be a
    /// string", and a runAt with a year past 9999 was silently wrapped to another date.
    @Test func createTakesIntegerNodeUidAndRefusesLongYears() async throws {
        try await withAPI { client, _, credentials in
            let headers = credentials.basic(.operator) + jsonContent
            let created = try await client.execute(uri: "/v1/tasks", method: .post, headers: headers,
                                                   body: ByteBuffer(string: #"{"commandType":"backup","nodeUid":2}"#))
            #expect(created.status == .accepted)
            let taskId = try #require(created.json?["taskId"] as? String)
            let action = try await client.execute(uri: "/v1/actions/\(taskId)", method: .get, headers: credentials.basic(.viewer))
            #expect(action.json?["node_uid"] as? String == "2")

            for runAt in ["999999999-01-01T00:00:00Z", "99999-01-01T00:00:00Z", "1-01-01T00:00:00Z"] {
                let refused = try await client.execute(uri: "/v1/tasks", method: .post, headers: headers,
                                                       body: ByteBuffer(string: #"{"commandType":"backup","runAt":"\#(runAt)"}"#))
                #expect(refused.status == .badRequest, "runAt \(runAt)")
                #expect(refused.json?["type"] as? String == "invalid_field")
            }
        }
    }

    @Test func errorsAndAccess() async throws {
        try await withAPI { client, _, credentials in
            let noAuth = try await client.execute(uri: "/v1/tasks", method: .get)
            #expect(noAuth.status == .unauthorized)
            let wrong = try await client.execute(uri: "/v1/tasks", method: .get, headers: [.authorization: "Bearer nobody:wrongsecret"])
            #expect(wrong.status == .unauthorized)
            let forbidden = try await client.execute(uri: "/v1/tasks", method: .post, headers: credentials.basic(.viewer) + jsonContent,
                                                     body: ByteBuffer(string: #"{"commandType":"x"}"#))
            #expect(forbidden.status == .forbidden)
            let method = try await client.execute(uri: "/v1/tasks", method: .put, headers: credentials.basic(.admin))
            #expect(method.status == .methodNotAllowed)
            #expect(method.headers[.allow] == "GET, POST")
            let malformed = try await client.execute(uri: "/v1/tasks", method: .post, headers: credentials.basic(.operator) + jsonContent,
                                                     body: ByteBuffer(string: "{not json"))
            #expect(malformed.status == .badRequest)
            #expect(malformed.json?["type"] as? String == "invalid_json")
            let missing = try await client.execute(uri: "/v1/actions/01a205c3-7630-7000-917e-31b5e9ea6dbe", method: .get, headers: credentials.basic(.viewer))
            #expect(missing.status == .notFound)
            #expect(missing.json?["error_code"] as? String == "task_not_found")
            let kapiMissing = try await client.execute(uri: "/kapi/actions/nope/dismiss", method: .post, headers: credentials.basic(.operator))
            #expect(kapiMissing.status == .notFound)
            #expect(kapiMissing.json?["code"] as? String == "task_not_found")
        }
    }
}
