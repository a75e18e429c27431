import Foundation
import HTTPTypes
import TestSupport
import Testing

/// Traces (issue 14): taskd (and the demo worker) with `TASKD_OTEL_ENDPOINT` send OTLP/HTTP to a
/// test receiver (Tests/Python/otlp_receiver.py, decoding with opentelemetry-proto), and one
/// trace — the one the create request came with — holds the create, the claim, heartbeats and the
/// complete.
@Suite(.tags(.processes)) struct TraceTests {
    /// The receiver process and the spans it wrote.
    final class OTLPReceiver: @unchecked Sendable {
        let port: Int
        let spansFile: URL
        private let process = Process()
        private let stdin = Pipe()

        init() async throws {
            let python = try #require(ProcessInfo.processInfo.environment["TASKD_TEST_PYTHON"], "TASKD_TEST_PYTHON is not set: run the tests with ./dev test")
            port = try RedisServerProcess.freePort()
            spansFile = URL(fileURLWithPath: TestEnvironment.stateDirectory).appendingPathComponent("spans-\(UUID().uuidString.prefix(8)).jsonl")
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = [
                URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Python/otlp_receiver.py").standardized.path,
                String(port), spansFile.path,
            ]
            process.standardInput = stdin
            try process.run()
            let listening = try await eventually { FileManager.default.fileExists(atPath: self.spansFile.path + ".ready") }
            try #require(listening, "the OTLP receiver did not start")
        }

        var endpoint: String { "http://127.0.0.1:\(port)" }

        /// The spans of `traceID` once those named `names` have arrived from `service` (the batch
        /// exporters send every few seconds); what arrived when they do not within 30 s.
        func spans(of traceID: String, named names: Set<String>, from service: String) async throws -> (complete: Bool, spans: [[String: String]]) {
            var spans: [[String: String]] = []
            let complete = try await eventually(timeout: .seconds(30)) {
                guard let text = try? String(contentsOf: spansFile, encoding: .utf8) else { return false }
                spans = text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String] }
                    .filter { $0["traceId"] == traceID }
                return names.isSubset(of: Set(spans.filter { $0["service"] == service }.compactMap { $0["name"] }))
            }
            return (complete, spans)
        }

        /// Its standard input closes: it shuts down.
        func stop() { try? stdin.fileHandleForWriting.close() }
    }

    /// A new trace id and a `traceparent` header naming a span of it.
    static func newTrace() -> (id: String, header: HTTPFields) {
        let traceID = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        return (traceID, [HTTPField.Name("traceparent")!: "00-\(traceID)-00f067aa0ba902b7-01"])
    }

    /// An HTTP worker that sends on the `traceparent` of its claim.
    @Test func oneTraceFromCreateToComplete() async throws {
        let receiver = try await OTLPReceiver()
        defer { receiver.stop() }
        let admin = ("trace-admin", "trace-secret-\(UUID().uuidString)")
        let replica = try TaskdProcess(redisURL: TestEnvironment.redisURL, prefix: TestEnvironment.uniquePrefix("traces"), admin: admin,
                                       settings: ["TASKD_OTEL_ENDPOINT": receiver.endpoint])
        defer { replica.stopNow() }
        let caller = Caller(key: admin.0, secret: admin.1)
        let up = try await eventually(timeout: .seconds(30)) { try await caller.call("GET", replica.base + "/v1/tasks").0 == 200 }
        try #require(up)

        let trace = Self.newTrace()
        let commandType = "traced_\(UUID().uuidString.prefix(8).lowercased())"
        let (created, _, createdBody) = try await caller.send("POST", replica.base + "/v1/tasks", #"{"commandType":"\#(commandType)"}"#, headers: trace.header)
        #expect(created == 202)
        let id = try #require((try JSONSerialization.jsonObject(with: createdBody) as? [String: Any])?["taskId"] as? String)
        let (claimed, lease) = try await caller.call("POST", replica.base + "/v1/workers/claim", #"{"workerId":"tracer","commandTypes":["\#(commandType)"],"waitSeconds":5}"#)
        #expect(claimed == 200)
        #expect(lease["taskId"] as? String == id)
        let token = try #require(lease["leaseToken"] as? String)
        // The claim hands over the create's span in the caller's trace: the worker sends it on.
        let handedOver = try #require(lease["traceparent"] as? String)
        #expect(handedOver.hasPrefix("00-\(trace.id)-"))
        let workerTrace: HTTPFields = [HTTPField.Name("traceparent")!: handedOver]
        #expect(try await caller.send("POST", replica.base + "/v1/tasks/\(id)/heartbeat", #"{"leaseToken":"\#(token)","progress":50}"#, headers: workerTrace).status == 200)
        #expect(try await caller.send("POST", replica.base + "/v1/tasks/\(id)/complete", #"{"leaseToken":"\#(token)"}"#, headers: workerTrace).status == 200)

        let (arrived, spans) = try await receiver.spans(of: trace.id, named: ["task.create", "task.claim", "task.heartbeat", "task.complete"], from: "taskd")
        #expect(arrived, "spans of trace \(trace.id): \(spans.map { $0["name"] ?? "" })")
        // The claim's parent is the create span, whose id the stored traceparent carries.
        let create = spans.first { $0["name"] == "task.create" }, claim = spans.first { $0["name"] == "task.claim" }
        #expect(create?["spanId"] == String(handedOver.dropFirst(36).prefix(16)))
        #expect(claim?["parentSpanId"] == create?["spanId"])
        await replica.stop()
    }

    /// The worker library (the demo worker) runs the attempt in the task's trace: its claim,
    /// heartbeats and complete are spans of the trace the create came with.
    @Test func theWorkerLibraryJoinsTheTrace() async throws {
        let receiver = try await OTLPReceiver()
        defer { receiver.stop() }
        let admin = ("trace-lib-admin", "trace-lib-secret-\(UUID().uuidString)")
        let prefix = TestEnvironment.uniquePrefix("tracelib")
        let replica = try TaskdProcess(redisURL: TestEnvironment.redisURL, prefix: prefix, admin: admin,
                                       settings: ["TASKD_OTEL_ENDPOINT": receiver.endpoint])
        defer { replica.stopNow() }
        let worker = try DemoWorkerProcess(prefix: prefix, settings: [
            "TASKD_OTEL_ENDPOINT": receiver.endpoint, "TASKD_DEMO_COMMAND_TYPES": "backup", "TASKD_DEMO_FAILURE_RATE": "0",
            "TASKD_DEMO_STEP_MS": "20",
        ])
        defer { worker.stopNow() }
        let caller = Caller(key: admin.0, secret: admin.1)
        let up = try await eventually(timeout: .seconds(30)) { try await caller.call("GET", replica.base + "/v1/tasks").0 == 200 }
        try #require(up)

        let trace = Self.newTrace()
        let (created, _, body) = try await caller.send("POST", replica.base + "/v1/tasks", #"{"commandType":"backup","objectName":"bdb:1","ops":["1","2"]}"#, headers: trace.header)
        #expect(created == 202)
        let id = try #require((try JSONSerialization.jsonObject(with: body) as? [String: Any])?["taskId"] as? String)
        let finished = try await eventually(timeout: .seconds(30)) {
            try await caller.call("GET", replica.base + "/v1/tasks/\(id)").1["lifecycleStatus"] as? String == "completed"
        }
        #expect(finished, "the demo worker did not complete the task")
        let (arrived, spans) = try await receiver.spans(of: trace.id, named: ["task.claim", "task.heartbeat", "task.complete"], from: "taskd-demo-worker")
        #expect(arrived, "spans of trace \(trace.id): \(spans.map { "\($0["service"] ?? ""):\($0["name"] ?? "")" }); worker log: \(worker.log.suffix(2000))")
        // taskd's batch exporter may send the create span later than the worker sent its spans.
        let (createArrived, _) = try await receiver.spans(of: trace.id, named: ["task.create"], from: "taskd")
        #expect(createArrived, "no task.create span from taskd in trace \(trace.id)")
        await worker.stop()
        await replica.stop()
    }
}
