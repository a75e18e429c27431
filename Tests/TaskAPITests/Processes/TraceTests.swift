import Foundation
import HTTPTypes
import TestSupport
import Testing

/// Traces (issue 14): taskd with `TASKD_OTEL_ENDPOINT` sends OTLP/HTTP to a test receiver
/// (Tests/Python/otlp_receiver.py, decoding with opentelemetry-proto), and one trace — the one the
/// create request came with — holds the create, the claim, a heartbeat and the complete.
@Suite(.tags(.processes)) struct TraceTests {
    @Test func oneTraceFromCreateToComplete() async throws {
        guard let binary = TaskdProcess.binary else { return }
        let python = try #require(ProcessInfo.processInfo.environment["TASKD_TEST_PYTHON"], "TASKD_TEST_PYTHON is not set: run the tests with ./dev test")
        let spansFile = URL(fileURLWithPath: TestEnvironment.stateDirectory).appendingPathComponent("spans-\(UUID().uuidString.prefix(8)).jsonl")
        let receiverPort = try RedisServerProcess.freePort()
        let receiver = Process()
        receiver.executableURL = URL(fileURLWithPath: python)
        receiver.arguments = [
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Python/otlp_receiver.py").standardized.path,
            String(receiverPort), spansFile.path,
        ]
        let stdin = Pipe()
        receiver.standardInput = stdin
        try receiver.run()
        defer { try? stdin.fileHandleForWriting.close() }
        let listening = try await eventually { FileManager.default.fileExists(atPath: spansFile.path + ".ready") }
        try #require(listening, "the OTLP receiver did not start")

        let admin = ("trace-admin", "trace-secret-\(UUID().uuidString)")
        let replica = try TaskdProcess(binary: binary, redisURL: TestEnvironment.redisURL, prefix: TestEnvironment.uniquePrefix("traces"), admin: admin,
                                       environment: ["TASKD_OTEL_ENDPOINT": "http://127.0.0.1:\(receiverPort)"])
        defer { Task { await replica.stop() } }
        let caller = Caller(key: admin.0, secret: admin.1)
        let up = try await eventually(timeout: .seconds(30)) { try await caller.call("GET", replica.base + "/v1/tasks").0 == 200 }
        try #require(up)

        let traceID = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let traceparent: HTTPFields = [HTTPField.Name("traceparent")!: "00-\(traceID)-00f067aa0ba902b7-01"]
        let commandType = "traced_\(UUID().uuidString.prefix(8).lowercased())"
        let (created, _, createdBody) = try await caller.send("POST", replica.base + "/v1/tasks", #"{"commandType":"\#(commandType)"}"#, headers: traceparent)
        #expect(created == 202)
        let id = try #require((try JSONSerialization.jsonObject(with: createdBody) as? [String: Any])?["taskId"] as? String)
        let (claimed, lease) = try await caller.call("POST", replica.base + "/v1/workers/claim", #"{"workerId":"tracer","commandTypes":["\#(commandType)"],"waitSeconds":5}"#)
        #expect(claimed == 200)
        #expect(lease["taskId"] as? String == id)
        let token = try #require(lease["leaseToken"] as? String)
        // The claim hands over the create's span in the caller's trace: the worker sends it on.
        let handedOver = try #require(lease["traceparent"] as? String)
        #expect(handedOver.hasPrefix("00-\(traceID)-"))
        let workerTrace: HTTPFields = [HTTPField.Name("traceparent")!: handedOver]
        #expect(try await caller.send("POST", replica.base + "/v1/tasks/\(id)/heartbeat", #"{"leaseToken":"\#(token)","progress":50}"#, headers: workerTrace).status == 200)
        #expect(try await caller.send("POST", replica.base + "/v1/tasks/\(id)/complete", #"{"leaseToken":"\#(token)"}"#, headers: workerTrace).status == 200)

        // The batch exporter sends every few seconds.
        var spans: [[String: String]] = []
        let wanted: Set<String> = ["task.create", "task.claim", "task.heartbeat", "task.complete"]
        let arrived = try await eventually(timeout: .seconds(30)) {
            guard let text = try? String(contentsOf: spansFile, encoding: .utf8) else { return false }
            spans = text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String] }
                .filter { $0["traceId"] == traceID }
            return wanted.isSubset(of: Set(spans.compactMap { $0["name"] }))
        }
        #expect(arrived, "spans of trace \(traceID): \(spans.map { $0["name"] ?? "" })")
        #expect(spans.allSatisfy { $0["service"] == "taskd" })
        // The claim's parent is the create span, whose id the stored traceparent carries.
        let create = spans.first { $0["name"] == "task.create" }, claim = spans.first { $0["name"] == "task.claim" }
        #expect(create?["spanId"] == String(handedOver.dropFirst(36).prefix(16)))
        #expect(claim?["parentSpanId"] == create?["spanId"])
        await replica.stop()
    }
}
