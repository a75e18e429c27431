import Foundation
import Testing

/// A `taskd-demo-worker` process of a test's own (the binary `./dev test` built), on the test Redis
/// under the test's key prefix. The tests stop it with signals: SIGKILL, SIGSTOP/SIGCONT, SIGTERM.
public final class DemoWorkerProcess: @unchecked Sendable {
    public let logPath: String
    private let process = Process()

    /// `settings` are `TASKD_*` variables on top of the prefix, shards and Redis URL.
    public init(prefix: String, shards: Int = TestEnvironment.shards, settings: [String: String] = [:]) throws {
        guard let binDirectory = ProcessInfo.processInfo.environment["TASKD_TEST_BIN_DIR"] else {
            throw TestSetupError("TASKD_TEST_BIN_DIR is not set: run the tests with ./dev test, which builds taskd-demo-worker")
        }
        logPath = TestEnvironment.stateDirectory + "/demo-worker-\(UUID().uuidString.prefix(8)).log"
        guard FileManager.default.createFile(atPath: logPath, contents: nil) else { throw TestSetupError("cannot create \(logPath)") }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.executableURL = URL(fileURLWithPath: binDirectory + "/taskd-demo-worker")
        var environment = ProcessInfo.processInfo.environment
        environment["TASKD_REDIS_URL"] = TestEnvironment.redisURL
        if TestEnvironment.redisURL.hasPrefix("rediss://"), let ca = TestEnvironment.testCA { environment["TASKD_REDIS_CA_FILE"] = ca }
        environment["TASKD_PREFIX"] = prefix
        environment["TASKD_SHARDS"] = String(shards)
        environment["TASKD_LOG_LEVEL"] = "info"
        for (name, value) in settings { environment[name] = value }
        process.environment = environment
        process.standardOutput = log
        process.standardError = log
        try process.run()
        SpawnedProcesses.record(process.processIdentifier)
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    public func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the process to exit, at most `timeout`; true when it did.
    public func waitForExit(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        return !process.isRunning
    }

    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// SIGKILL without waiting for the exit, for a `defer` (see `TaskdProcess.stopNow()`).
    public func stopNow() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGCONT)
        kill(process.processIdentifier, SIGKILL)
    }

    /// Ends it for good (SIGKILL); safe to call twice.
    public func stop() async {
        stopNow()
        _ = await waitForExit(timeout: .seconds(5))
    }

    deinit { stopNow() }
}

/// The test setup is missing something (a binary, a variable): the message says what to run.
public struct TestSetupError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
