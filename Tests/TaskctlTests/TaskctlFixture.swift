import Foundation
import TestSupport
import Testing

/// A taskd of the test's own on the test Redis (a fresh key prefix), optionally the demo workers,
/// and taskctl runs against it as a user runs it: TASKD_URL and TASKD_CREDENTIAL in its environment.
struct TaskctlFixture {
    let prefix: String
    let admin: (key: String, secret: String)
    let taskd: TaskdProcess
    var workers: [DemoWorkerProcess] = []

    var adminCredential: String { "\(admin.key):\(admin.secret)" }
    var url: String { taskd.base }

    /// With `workers`: one demo worker that completes backup, reshard and delete_db tasks, and one
    /// whose create_db tasks all fail (failure rate 1, one attempt), each step taking `stepMs`.
    static func start(_ name: String = #function, redisURL: String = TestEnvironment.redisURL, prefix: String? = nil,
                      workers: Bool = true, stepMs: Int = 40, settings: [String: String] = [:]) async throws -> TaskctlFixture {
        // Prefixes have at most 64 characters: a test name is cut short.
        let prefix = prefix ?? TestEnvironment.uniquePrefix(String(name.prefix(32)))
        let admin = ("ctl-admin", "ctl-secret-\(UUID().uuidString.prefix(12))")
        var fixture = TaskctlFixture(prefix: prefix, admin: admin, taskd: try TaskdProcess(redisURL: redisURL, prefix: prefix, admin: admin, settings: settings))
        if workers {
            let step = String(stepMs)
            fixture.workers = [
                try DemoWorkerProcess(prefix: prefix, settings: ["TASKD_DEMO_COMMAND_TYPES": "backup,reshard,delete_db", "TASKD_DEMO_FAILURE_RATE": "0", "TASKD_DEMO_STEP_MS": step]),
                try DemoWorkerProcess(prefix: prefix, settings: ["TASKD_DEMO_COMMAND_TYPES": "create_db", "TASKD_DEMO_FAILURE_RATE": "1", "TASKD_DEMO_STEP_MS": step]),
            ]
        }
        try await fixture.waitUntilReady()
        return fixture
    }

    /// taskd answers an authenticated call (its admin key is in Redis).
    func waitUntilReady() async throws {
        let ready = try await eventually(timeout: .seconds(20)) { try await taskctl(["list", "--limit", "1"]).status == 0 }
        guard ready else { throw TestSetupError("taskd on port \(taskd.port) did not come up; its log: \(taskd.logPath)") }
    }

    /// Runs taskctl to its end; `credential` nil means the admin's, "" means none.
    func taskctl(_ arguments: [String], credential: String? = nil, url: String? = nil, timeout: Duration = .seconds(30)) async throws -> CommandResult {
        try await CommandResult.run(try CommandProcess.taskctlPath, arguments, environment: environment(credential: credential, url: url), timeout: timeout)
    }

    /// Starts taskctl and leaves it running (watch).
    func startTaskctl(_ arguments: [String], credential: String? = nil) throws -> CommandProcess {
        try CommandProcess(try CommandProcess.taskctlPath, arguments, environment: environment(credential: credential, url: nil))
    }

    func environment(credential: String?, url: String?) -> [String: String] {
        ["TASKD_URL": url ?? self.url, "TASKD_CREDENTIAL": credential ?? adminCredential]
    }

    /// `taskctl submit …`: the new task's id.
    func submit(_ arguments: [String]) async throws -> String {
        let result = try await taskctl(["submit"] + arguments)
        guard result.status == 0 else { throw TestSetupError("taskctl submit \(arguments) failed: \(result)") }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A task's field as `get --output json` shows it.
    func field(_ name: String, of id: String) async throws -> String? {
        let result = try await taskctl(["get", id, "--output", "json"])
        let object = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
        return object?[name].map { "\($0)" }
    }

    /// Its processes SIGKILLed without waiting, for a `defer`.
    func stopNow() {
        for worker in workers { worker.stopNow() }
        taskd.stopNow()
    }

    func stop() async {
        for worker in workers { await worker.stop() }
        await taskd.stop()
    }
}

extension CommandResult {
    /// Standard output's lines, without the empty last one.
    var lines: [String] { output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty } }
}
