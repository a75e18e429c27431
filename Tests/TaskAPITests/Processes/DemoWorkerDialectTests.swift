import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import TaskAPI
import TaskEngine
import TestSupport
import Testing

/// The demo worker (a real `taskd-demo-worker` process) drives tasks created over the API to
/// completion, and every dialect's view shows each of them finished.
@Suite(.tags(.processes)) struct DemoWorkerDialectTests {
    @Test func demoWorkerCompletesTasksSeenThroughEveryDialect() async throws {
        try await withAPI { client, store, credentials in
            let worker = try DemoWorkerProcess(prefix: store.keyspace.prefix, settings: [
                "TASKD_DEMO_FAILURE_RATE": "0", "TASKD_DEMO_STEP_MS": "20", "TASKD_DEMO_CONCURRENCY": "4",
            ])
            defer { worker.stopNow() }
            let bodies = [
                #"{"commandType":"backup","objectName":"bdb:1","ops":["1","2"]}"#,
                #"{"commandType":"reshard","objectName":"bdb:2","ops":["1","2","3"]}"#,
                #"{"commandType":"create_db","objectName":"bdb:3"}"#,
                #"{"commandType":"delete_db","objectName":"bdb:4"}"#,
            ]
            var ids: [String] = []
            for body in bodies {
                let created = try await client.execute(uri: "/v1/tasks", method: .post, headers: credentials.basic(.operator) + jsonContent,
                                                       body: ByteBuffer(string: body))
                #expect(created.status == .accepted)
                ids.append(try #require(created.json?["taskId"] as? String))
            }
            let finished = try await eventually(timeout: .seconds(30)) {
                try await store.get(ids).allSatisfy { $0.status == .completed }
            }
            #expect(finished, "the demo worker completes every task; its log: \(worker.log.suffix(2000))")
            let viewer = credentials.basic(.viewer)
            for id in ids {
                let cloud = try await client.execute(uri: "/v1/tasks/\(id)", method: .get, headers: viewer)
                #expect(cloud.json?["status"] as? String == "processing-completed")
                #expect(cloud.json?["progress"] as? Double == 100)
                let action = try await client.execute(uri: "/v1/actions/\(id)", method: .get, headers: viewer)
                #expect(action.json?["status"] as? String == "completed")
                let crdb = try await client.execute(uri: "/v1/crdb_tasks/\(id)", method: .get, headers: viewer)
                #expect(crdb.json?["status"] as? String == "finished")
                let kapi = try await client.execute(uri: "/kapi/actions/\(id)", method: .get, headers: viewer)
                #expect(kapi.json?["status"] as? Int == 5)
            }
            // The backup's ops went through the worker's reports: every shard copied.
            let backup = try #require(try await store.get(ids[0]))
            #expect(backup.ops.map(\.id) == ["1", "2"])
            #expect(backup.ops.allSatisfy { $0.json.contains(#""progress":100"#) && $0.json.contains(#""status_code":"done""#) })
        }
    }
}
