import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

/// Three taskd processes on one Redis: create on one, claim on another, heartbeat on the third,
/// and every replica reads the same task at every step.
@Suite(.tags(.processes)) struct ReplicaTests {
    @Test func threeReplicasAgree() async throws {
        let admin = ("replica-admin", "replica-secret-\(UUID().uuidString.prefix(8))")
        let prefix = TestEnvironment.uniquePrefix("replicas")
        let replicas = try (0..<3).map { _ in
            try TaskdProcess(prefix: prefix, admin: admin)
        }
        let caller = Caller(key: admin.0, secret: admin.1)
        for replica in replicas {
            let ready = try await eventually { try await caller.call("GET", replica.base + "/v1/tasks").0 == 200 }
            #expect(ready, "replica on port \(replica.port) did not come up")
        }

        func everyoneSees(_ id: String, status: String, version: Int) async throws {
            for replica in replicas {
                let (code, task) = try await caller.call("GET", replica.base + "/v1/tasks/\(id)")
                #expect(code == 200)
                #expect(task["lifecycleStatus"] as? String == status, "replica \(replica.port)")
                #expect(task["version"] as? Int == version, "replica \(replica.port)")
            }
        }

        let (created, task) = try await caller.call("POST", replicas[0].base + "/v1/tasks", #"{"commandType":"replicated"}"#)
        #expect(created == 202)
        let id = try #require(task["taskId"] as? String)
        try await everyoneSees(id, status: "queued", version: 1)

        let (claimed, lease) = try await caller.call("POST", replicas[1].base + "/v1/workers/claim", #"{"workerId":"w","commandTypes":["replicated"],"waitSeconds":5}"#)
        #expect(claimed == 200)
        #expect(lease["taskId"] as? String == id)
        let token = try #require(lease["leaseToken"] as? String)
        try await everyoneSees(id, status: "starting", version: 2)

        let (beat, _) = try await caller.call("POST", replicas[2].base + "/v1/tasks/\(id)/heartbeat", #"{"leaseToken":"\#(token)","progress":60}"#)
        #expect(beat == 200)
        try await everyoneSees(id, status: "running", version: 3)

        let (done, _) = try await caller.call("POST", replicas[0].base + "/v1/tasks/\(id)/complete", #"{"leaseToken":"\#(token)"}"#)
        #expect(done == 200)
        try await everyoneSees(id, status: "completed", version: 4)

        for replica in replicas { await replica.stop() }
    }
}
