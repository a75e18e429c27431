import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import TaskAPI
import TaskEngine
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Findings of the hostile-input probe (issue "Hardening against hostile input"), each a test.
@Suite(.tags(.redis)) struct HostileInputTests {
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    /// Ten arrays nested 500 deep in 10 kB cost about 8 s of CPU before their 400; now the depth is
    /// checked in one pass before any decoding.
    @Test func deeplyNestedJSONIsRefusedCheaply() async throws {
        try await withAPI { client, store, credentials in
            let bomb = #"{"commandType":"x","zzz":["# + Array(repeating: String(repeating: "[", count: 500) + String(repeating: "]", count: 500), count: 10).joined(separator: ",") + "]}"
            // Process CPU includes the suites running in parallel: take the least of three tries, and
            // a wide bound (the bomb itself cost ~8 s).
            var cheapest = Double.infinity
            for _ in 0..<3 {
                let before = Self.processCPUSeconds()
                let response = try await client.execute(uri: "/v1/tasks", method: .post, headers: credentials.basic(.operator) + jsonContent, body: ByteBuffer(string: bomb))
                cheapest = min(cheapest, Self.processCPUSeconds() - before)
                #expect(response.status == .badRequest)
                #expect(response.json?["type"] as? String == "invalid_json")
            }
            print("a 10 kB body nested 500 deep: refused with at most \(cheapest) s of process CPU")
            #expect(cheapest < 1.0, "the refused body cost \(cheapest) s of CPU")
            // A heartbeat snapshot is read the same way.
            let snapshot = #"{"leaseToken":"t","ops":{"1":{"snapshot":"# + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "}}}"
            let beat = try await client.execute(uri: "/v1/tasks/01a205c3-7630-7000-917e-31b5e9ea6dbe/heartbeat", method: .post,
                                                headers: credentials.basic(.worker) + jsonContent, body: ByteBuffer(string: snapshot))
            #expect(beat.status == .badRequest)
            // Depth within the limit, and brackets inside strings, are fine.
            let fine = try await client.execute(uri: "/v1/tasks", method: .post, headers: credentials.basic(.operator) + jsonContent,
                                                body: ByteBuffer(string: #"{"commandType":"x","params":{"a":[[[1]]],"s":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}}"#))
            #expect(fine.status == .accepted)
            #expect(try await store.list(TaskQuery()).tasks.count == 1)
        }
    }

    /// A viewer's read may not change retention: `X-Result-TTL` needs the operator role.
    @Test func viewerCannotChangeResultTTL() async throws {
        try await withAPI { client, store, credentials in
            let created = try await store.create(NewTask(commandType: "ttl"))
            let header: HTTPFields = [HTTPField.Name("X-Result-TTL")!: "1"]
            let viewer = try await client.execute(uri: "/v1/crdb_tasks/\(created.id)", method: .get, headers: credentials.basic(.viewer) + header)
            #expect(viewer.status == .forbidden)
            #expect(viewer.json?["error_code"] as? String == "forbidden")
            #expect(try await store.get(created.id)?.resultTtl == TaskEngineConfiguration.defaultResultTtl, "unchanged")
            let plainRead = try await client.execute(uri: "/v1/crdb_tasks/\(created.id)", method: .get, headers: credentials.basic(.viewer))
            #expect(plainRead.status == .ok)
            let operatorRead = try await client.execute(uri: "/v1/crdb_tasks/\(created.id)", method: .get, headers: credentials.basic(.operator) + header)
            #expect(operatorRead.status == .ok)
            #expect(try await store.get(created.id)?.resultTtl == 1)
        }
    }

    /// The last admin key cannot be deleted (409 with the reason); once another exists it can.
    @Test func lastAdminKeyStays() async throws {
        try await withAPI { client, _, credentials in
            let admin = credentials.basic(.admin)
            let only = try #require(credentials.byRole[.admin]?.key)
            let refused = try await client.execute(uri: "/v1/apikeys/\(only)", method: .delete, headers: admin)
            #expect(refused.status == .conflict)
            #expect(refused.json?["type"] as? String == "last_admin_key")
            let second = try await client.execute(uri: "/v1/apikeys", method: .post, headers: admin + jsonContent,
                                                  body: ByteBuffer(string: #"{"role":"admin","name":"second admin"}"#))
            #expect(second.status == .created)
            #expect(try await client.execute(uri: "/v1/apikeys/\(only)", method: .delete, headers: admin).status == .noContent)
        }
    }

    /// Two replicas deleting the last two admin keys at the same moment: one wins, one key stays.
    @Test func concurrentDeletesKeepOneAdmin() async throws {
        try await withAPI { _, store, credentials in
            func deleting(_ id: String) async -> Result<Bool, any Error> {
                do { return .success(try await store.deleteAPIKey(id)) } catch { return .failure(error) }
            }
            var survivor = try #require(credentials.byRole[.admin]?.key)
            for round in 0..<10 {
                let other = try await store.apiKeys.create(role: .admin, name: "admin \(round)").key.key
                async let a = deleting(survivor)
                async let b = deleting(other)
                let outcomes = await [a, b]
                let deleted = outcomes.filter { (try? $0.get()) == true }.count
                let refused = outcomes.filter { if case .failure(let error as TaskEngineError) = $0 { error.code == .lastAdminKey } else { false } }.count
                #expect(deleted == 1 && refused == 1, "round \(round): \(outcomes)")
                let admins = try await store.apiKeys.list().filter { $0.role == .admin }
                #expect(admins.count == 1, "round \(round)")
                survivor = try #require(admins.first?.key)
            }
        }
    }

    /// `Last-Event-ID` at the largest stream id is a 400, not a 200 and a dropped stream.
    @Test func largestLastEventIDIsRefused() async throws {
        try await withAPI { client, store, credentials in
            let created = try await store.create(NewTask(commandType: "sse"))
            let largest = "18446744073709551615-18446744073709551615"
            let one = try await client.execute(uri: "/v1/tasks/\(created.id)/events", method: .get,
                                               headers: credentials.basic(.viewer) + [HTTPField.Name("Last-Event-ID")!: largest])
            #expect(one.status == .badRequest)
            #expect(one.json?["type"] as? String == "invalid_last_event_id")
            let all = try await client.execute(uri: "/v1/events", method: .get,
                                               headers: credentials.basic(.viewer) + [HTTPField.Name("Last-Event-ID")!: "0:" + largest])
            #expect(all.status == .badRequest)
        }
    }

    /// A cross-site form (`text/plain`, urlencoded, multipart) could create or cancel a task with a
    /// browser's cached Basic credentials: bodies must be JSON and say so (415 otherwise), on every
    /// POST, whether or not its route reads a body.
    @Test func nonJSONBodiesAre415() async throws {
        try await withAPI { client, store, credentials in
            let task = #"{"commandType":"csrf"}"#
            for type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx"] {
                let response = try await client.execute(uri: "/v1/tasks", method: .post,
                                                        headers: credentials.basic(.operator) + [.contentType: type], body: ByteBuffer(string: task))
                #expect(response.status == .unsupportedMediaType, "\(type)")
                #expect(response.json?["type"] as? String == "unsupported_media_type", "\(type)")
            }
            let untyped = try await client.execute(uri: "/v1/tasks", method: .post, headers: credentials.basic(.operator), body: ByteBuffer(string: task))
            #expect(untyped.status == .unsupportedMediaType, "a body without a content type")
            #expect(try await store.list(TaskQuery()).tasks.isEmpty, "no refused create made a task")

            // A route that reads no body refuses a form too, and keeps the task as it was.
            let created = try await store.create(NewTask(commandType: "csrf"))
            let form = try await client.execute(uri: "/v1/crdb_tasks/\(created.id)/actions/cancel", method: .post,
                                                headers: credentials.basic(.operator) + [.contentType: "text/plain"], body: ByteBuffer(string: "x"))
            #expect(form.status == .unsupportedMediaType)
            #expect(form.json?["error_code"] as? String == "unsupported_media_type", "in the route's dialect")
            #expect(try await store.get(created.id)?.status == .queued)

            // JSON with parameters or a +json type is fine; so is no body and no type.
            let charset = try await client.execute(uri: "/v1/tasks", method: .post,
                                                   headers: credentials.basic(.operator) + [.contentType: "Application/JSON; charset=utf-8"], body: ByteBuffer(string: task))
            #expect(charset.status == .accepted)
            let bare = try await client.execute(uri: "/v1/tasks/\(created.id)/actions/cancel", method: .post, headers: credentials.basic(.operator))
            #expect(bare.status == .ok)
        }
    }
}
