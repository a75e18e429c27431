import Foundation
import TestSupport
import Testing

/// The dashboard at `/ui` in a real headless Chromium (Tests/Python/dashboard_browser.py, selenium),
/// against a real taskd and the demo worker: log in, a submitted task appears live and its bar
/// reaches 100, cancel from the page, the CSRF refusal, logout ends the streams, a viewer sees no
/// buttons. Screenshots land in `.dev/ui-*.png`.
@Suite(.tags(.processes)) struct DashboardBrowserTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Python/dashboard_browser.py").standardized.path

    @Test func dashboardInHeadlessChromium() async throws {
        let python = try #require(ProcessInfo.processInfo.environment["TASKD_TEST_PYTHON"], "TASKD_TEST_PYTHON is not set: run the tests with ./dev test")
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver"), "chromium-driver is not installed: run the tests with ./dev test")
        let admin = ("ui-admin", "ui-admin-secret-\(UUID().uuidString.prefix(8))")
        let prefix = TestEnvironment.uniquePrefix("dashboard")
        let taskd = try TaskdProcess(prefix: prefix, admin: admin)
        // Steps of 250 ms: a two-shard reshard takes 2 s, an eight-shard backup 10 s before its commit phase.
        let worker = try DemoWorkerProcess(prefix: prefix, settings: [
            "TASKD_DEMO_STEP_MS": "250", "TASKD_DEMO_FAILURE_RATE": "0", "TASKD_DEMO_COMMAND_TYPES": "reshard,backup",
        ])
        defer { worker.stopNow(); taskd.stopNow() }
        let adminCaller = Caller(key: admin.0, secret: admin.1)
        let up = try await eventually(timeout: .seconds(30)) { try await adminCaller.call("GET", taskd.base + "/v1/tasks").0 == 200 }
        try #require(up, "taskd did not come up")
        var environment = ["TASKD_URL": taskd.base, "SCREENSHOT_DIR": TestEnvironment.stateDirectory, "SE_OFFLINE": "true"]
        for role in ["operator", "viewer"] {
            let (status, key) = try await adminCaller.call("POST", taskd.base + "/v1/apikeys", #"{"role":"\#(role)","name":"dashboard \#(role)"}"#)
            try #require(status == 201)
            environment[role.uppercased() + "_KEY"] = try #require(key["key"] as? String)
            environment[role.uppercased() + "_SECRET"] = try #require(key["secret"] as? String)
        }
        let started = ContinuousClock.now
        let (status, output, errors) = try await MetricsScrape.run(python, [Self.script], input: "", environment: environment, timeout: .seconds(90))
        let report = String(decoding: output, as: UTF8.self)
        #expect(status == 0, "the browser test failed:\n\(report)\n\(errors.suffix(4000))\ntaskd log: \(taskd.logPath)")
        #expect(!report.contains("not ok"), "\(report)")
        #expect(report.contains("ok - a viewer sees no action buttons in the detail"), "the browser test did not run to its end:\n\(report)")
        print("dashboard browser test: \(ContinuousClock.now - started)\n\(report)")
    }
}
