import Foundation
import HTTPTypes
import TestSupport
import Testing

/// `/metrics`, JSON logs and request ids on real taskd processes over one Redis (issue 14).
@Suite(.tags(.processes)) struct ObservabilityTests {
    static let commandType = "metrics_probe"

    /// Two replicas: a scripted lifecycle on the first moves its counters by exactly the
    /// transitions it made (and the second's not at all), both report the same Redis-side figures,
    /// both answers pass `promtool check metrics` and prometheus_client's parser, and no secret or
    /// lease token shows in any log line or metric.
    @Test func metricsFollowALifecycleAndReplicasAgree() async throws {
        let admin = ("obs-admin", "obs-admin-secret-\(UUID().uuidString)")
        let prefix = TestEnvironment.uniquePrefix("observability")
        let logs = URL(fileURLWithPath: TestEnvironment.stateDirectory).appendingPathComponent("observability-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let shared = ["TASKD_METRICS_COMMAND_TYPES": "\(Self.commandType),other_probe", "TASKD_LOG_LEVEL": "info"]
        let first = try TaskdProcess(redisURL: TestEnvironment.redisURL, prefix: prefix, admin: admin,
                                     settings: shared.merging(["TASKD_LOG_FORMAT": "json"]) { $1 }, logFile: logs.appendingPathComponent("first.log"))
        let second = try TaskdProcess(redisURL: TestEnvironment.redisURL, prefix: prefix, admin: admin,
                                      settings: shared, logFile: logs.appendingPathComponent("second.log"))
        defer { first.stopNow(); second.stopNow() }
        let operatorCaller = Caller(key: admin.0, secret: admin.1)
        for replica in [first, second] {
            let up = try await eventually(timeout: .seconds(30)) { try await operatorCaller.call("GET", replica.base + "/v1/tasks").0 == 200 }
            try #require(up, "replica on port \(replica.port) did not come up")
        }
        var secrets = [admin.1]

        // A viewer scrapes with the Bearer style Prometheus's `authorization` setting sends.
        let (viewerStatus, viewer) = try await operatorCaller.call("POST", first.base + "/v1/apikeys", #"{"role":"viewer","name":"prometheus"}"#)
        #expect(viewerStatus == 201)
        let viewerKey = try #require(viewer["key"] as? String), viewerSecret = try #require(viewer["secret"] as? String)
        secrets.append(viewerSecret)
        let scraper = Caller(authorization: "Bearer \(viewerKey):\(viewerSecret)")
        var outputs: [String] = []
        func scrape(_ replica: TaskdProcess) async throws -> MetricsScrape {
            let (status, headers, body) = try await scraper.send("GET", replica.base + "/metrics")
            try #require(status == 200, "GET /metrics answered \(status)")
            #expect(headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
            let text = String(decoding: body, as: UTF8.self)
            outputs.append(text)
            return try await MetricsScrape(text)
        }
        let (anonymous, _) = try await Caller(authorization: "").call("GET", first.base + "/metrics")
        #expect(anonymous == 401)

        let before = try await scrape(first)
        let secondBefore = try await scrape(second)
        #expect(try await before.promtoolProblems() == nil)
        for family in ["taskd_http_requests_total", "taskd_process_resident_memory_bytes", "taskd_process_open_fds",
                       "taskd_process_uptime_seconds", "taskd_build_info", "taskd_tasks", "taskd_redis_commands_total",
                       "taskd_redis_reconnects_total", "taskd_sse_watchers", "taskd_sse_slow_watchers_dropped_total",
                       "taskd_keyspace_notification_gaps_total", "taskd_lease_expiries_total", "taskd_redis_under_replicated_writes_total"] {
            #expect(before.families[family.replacingOccurrences(of: "_total", with: "")] != nil, "no family \(family)")
        }
        #expect((before.value("taskd_process_resident_memory_bytes") ?? 0) > 1_000_000)
        #expect((before.value("taskd_process_open_fds") ?? 0) > 3)
        #expect((before.value("taskd_redis_commands_total", ["outcome": "ok"]) ?? 0) > 0)

        // The lifecycle, all on the first replica: 5 creates, 3 claims, a complete, a failure, a cancel of a
        // running task and one of a queued task.
        let t = Self.commandType
        var created: [String] = []
        for _ in 0..<5 {
            let (status, task) = try await operatorCaller.call("POST", first.base + "/v1/tasks", #"{"commandType":"\#(t)"}"#)
            #expect(status == 202)
            created.append(try #require(task["taskId"] as? String))
        }
        func claim() async throws -> (id: String, token: String) {
            let (status, lease) = try await operatorCaller.call("POST", first.base + "/v1/workers/claim", #"{"workerId":"obs","commandTypes":["\#(t)"],"waitSeconds":5}"#)
            try #require(status == 200)
            let token = try #require(lease["leaseToken"] as? String)
            secrets.append(token)
            return (try #require(lease["taskId"] as? String), token)
        }
        let done = try await claim()
        #expect(try await operatorCaller.call("POST", first.base + "/v1/tasks/\(done.id)/heartbeat", #"{"leaseToken":"\#(done.token)","progress":50}"#).0 == 200)
        #expect(try await operatorCaller.call("POST", first.base + "/v1/tasks/\(done.id)/complete", #"{"leaseToken":"\#(done.token)"}"#).0 == 200)
        let failed = try await claim()
        #expect(try await operatorCaller.call("POST", first.base + "/v1/tasks/\(failed.id)/fail", #"{"leaseToken":"\#(failed.token)","errorCode":"boom","retryable":false}"#).0 == 200)
        // A running task cancelled (→ cancelling), cancelled again (a repeat: no transition), then
        // forced (→ cancelled, its run timed like a completion's).
        let stopped = try await claim()
        #expect(try await operatorCaller.call("POST", first.base + "/v1/tasks/\(stopped.id)/heartbeat", #"{"leaseToken":"\#(stopped.token)","progress":10}"#).0 == 200)
        #expect(try await operatorCaller.call("POST", first.base + "/v1/tasks/\(stopped.id)/actions/cancel").0 == 200)
        #expect(try await operatorCaller.call("POST", first.base + "/v1/tasks/\(stopped.id)/actions/cancel").0 == 200)
        #expect(try await operatorCaller.call("POST", first.base + "/v1/tasks/\(stopped.id)/actions/cancel?force=true").0 == 200)
        let queued = created.filter { ![done.id, failed.id, stopped.id].contains($0) }
        #expect(try await operatorCaller.call("POST", first.base + "/v1/tasks/\(queued[0])/actions/cancel").0 == 200)

        // Counters move by exactly what the lifecycle did, on the replica that did it only.
        let after = try await scrape(first)
        let secondAfter = try await scrape(second)
        func moved(_ a: MetricsScrape, _ b: MetricsScrape, _ name: String, _ labels: [String: String]) -> Double {
            (b.value(name, labels) ?? 0) - (a.value(name, labels) ?? 0)
        }
        for (status, count) in [("queued", 5.0), ("starting", 3), ("running", 2), ("cancelling", 1), ("completed", 1), ("failed", 1),
                                ("cancelled", 2)] {
            let labels = ["command_type": t, "status": status]
            #expect(moved(before, after, "taskd_task_transitions_total", labels) == count, "transitions into \(status)")
            #expect(moved(secondBefore, secondAfter, "taskd_task_transitions_total", labels) == 0, "second replica, \(status)")
        }
        #expect(moved(before, after, "taskd_task_wait_seconds_count", ["command_type": t]) == 3)
        #expect(moved(before, after, "taskd_task_run_seconds_count", ["command_type": t]) == 3)
        #expect(after.value("taskd_task_run_seconds_bucket", ["command_type": t, "le": "86400.0"]) == after.value("taskd_task_run_seconds_count", ["command_type": t]))
        let creates = ["route": "/v1/tasks", "method": "POST", "status_class": "2xx", "dialect": "native"]
        #expect(moved(before, after, "taskd_http_requests_total", creates) == 5)
        #expect(moved(before, after, "taskd_http_requests_total", ["route": "/v1/tasks/{taskId}/complete", "method": "POST", "status_class": "2xx", "dialect": "native"]) == 1)
        #expect(!after.text.contains(done.id), "a task id in a label: routes must be templates")
        #expect(try await after.promtoolProblems() == nil)
        #expect(try await secondAfter.promtoolProblems() == nil)

        // The Redis-side figures are the same on both replicas (each read is cached for 2 s).
        let agreed = try await eventually(timeout: .seconds(10)) {
            let a = try await scrape(first), b = try await scrape(second)
            let expected: [(String, [String: String], Double)] = [
                ("taskd_tasks", ["state": "queued"], 1), ("taskd_tasks", ["state": "leased"], 0), ("taskd_tasks", ["state": "delayed"], 0),
                ("taskd_tasks", ["state": "finished"], 4), ("taskd_ready_tasks", ["command_type": t], 1),
                ("taskd_ready_tasks", ["command_type": "other_probe"], 0),
            ]
            return expected.allSatisfy { name, labels, value in a.value(name, labels) == value && b.value(name, labels) == value }
        }
        #expect(agreed, "the replicas disagree on tasks by state or ready depth, or these are wrong")

        // No secret, credential or lease token in any log line or metric.
        let logText = try [first, second].compactMap(\.logFile).map { try String(contentsOf: $0, encoding: .utf8) }
        for secret in secrets {
            for (index, text) in (logText + outputs).enumerated() {
                #expect(!text.contains(secret), "output \(index) shows a secret")
            }
        }
        #expect(!logText[0].isEmpty, "the first replica logged nothing at info")
    }

    /// A request id from `X-Request-Id` is sanitised, bounded, echoed, and on that request's JSON log
    /// lines; without one, taskd makes one. Every JSON log line parses with the documented keys.
    @Test func requestIDsAndJSONLogs() async throws {
        let admin = ("obs-log-admin", "obs-log-secret-\(UUID().uuidString)")
        let log = URL(fileURLWithPath: TestEnvironment.stateDirectory).appendingPathComponent("observability-json-\(UUID().uuidString.prefix(8)).log")
        let replica = try TaskdProcess(redisURL: TestEnvironment.redisURL, prefix: TestEnvironment.uniquePrefix("obslog"),
                                       admin: admin, settings: ["TASKD_LOG_FORMAT": "json", "TASKD_LOG_LEVEL": "info"], logFile: log)
        defer { replica.stopNow() }
        let caller = Caller(key: admin.0, secret: admin.1)
        let up = try await eventually(timeout: .seconds(30)) { try await caller.call("GET", replica.base + "/v1/tasks").0 == 200 }
        try #require(up)

        let mark = UUID().uuidString.prefix(8).lowercased()
        let sent = "obs.\(mark) <script>\"" + String(repeating: "x", count: 100)
        let expected = String("obs.\(mark)script" + String(repeating: "x", count: 100)).prefix(64)
        let (status, headers, body) = try await caller.send("POST", replica.base + "/v1/apikeys", #"{"role":"viewer","name":"request-id"}"#,
                                                            headers: [RequestIDField.name: sent])
        #expect(status == 201)
        #expect(headers[RequestIDField.name] == String(expected))
        let secret = try #require((try JSONSerialization.jsonObject(with: body) as? [String: Any])?["secret"] as? String)

        let (_, generatedHeaders, _) = try await caller.send("GET", replica.base + "/health/live")
        let generated = try #require(generatedHeaders[RequestIDField.name])
        #expect(generated.count == 32 && generated.allSatisfy(\.isHexDigit))

        // The line the key creation logged carries the id; every line is one JSON object.
        var lines: [[String: Any]] = []
        let found = try await eventually(timeout: .seconds(5)) {
            let text = try String(contentsOf: log, encoding: .utf8)
            lines = []
            for line in text.split(separator: "\n") {
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON object: \(line)")
                lines.append(object)
            }
            return lines.contains { ($0["message"] as? String) == "api key created" }
        }
        try #require(found, "no 'api key created' line")
        for line in lines {
            for key in ["time", "level", "message", "label", "metadata"] { #expect(line[key] != nil, "a log line lacks \(key): \(line)") }
        }
        let created = try #require(lines.first { ($0["message"] as? String) == "api key created" })
        let metadata = try #require(created["metadata"] as? [String: Any])
        #expect(metadata["request.id"] as? String == String(expected))
        let text = try String(contentsOf: log, encoding: .utf8)
        #expect(!text.contains(secret) && !text.contains(admin.1), "a secret in the log")
    }
}

enum RequestIDField {
    static let name = HTTPField.Name("X-Request-Id")!
}
