import Foundation
import TestSupport
import Testing

/// taskd as an unprivileged user, as the Docker image runs it (user `taskd`, uid 10001): every
/// socket option it sets must be one that a process without CAP_NET_ADMIN may set. It once asked
/// for TCP_NODELAY at the socket level (`.socketOption(.tcp_nodelay)`, i.e. SO_DEBUG), which only
/// root may set: as any other user every Redis connection failed with EACCES. `./dev test` runs as
/// root (CI too), so the test drops to `nobody` with setpriv; it is skipped when it cannot.
@Suite(.tags(.processes)) struct UnprivilegedUserTests {
    static var canDropPrivileges: Bool {
        getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")
            // The plain-TCP phase only: a rediss:// phase's CA file need not be readable by nobody.
            && ProcessInfo.processInfo.environment["TASKD_TEST_REDIS_URL"]?.hasPrefix("redis://") == true
    }

    @Test(.enabled(if: canDropPrivileges)) func taskdIsReadyAsNobody() async throws {
        guard let binDirectory = ProcessInfo.processInfo.environment["TASKD_TEST_BIN_DIR"] else {
            throw TestSetupError("TASKD_TEST_BIN_DIR is not set: run the tests with ./dev test, which builds taskd")
        }
        let port = try RedisServerProcess.freePort()
        let logPath = TestEnvironment.stateDirectory + "/taskd-nobody-\(UUID().uuidString.prefix(8)).log"
        guard FileManager.default.createFile(atPath: logPath, contents: nil) else { throw TestSetupError("cannot create \(logPath)") }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", binDirectory + "/taskd"]
        var environment = ProcessInfo.processInfo.environment
        environment["TASKD_REDIS_URL"] = TestEnvironment.redisURL
        environment["TASKD_PORT"] = String(port)
        environment["TASKD_PREFIX"] = TestEnvironment.uniquePrefix("nobody")
        environment["TASKD_SHARDS"] = String(TestEnvironment.shards)
        process.environment = environment
        process.standardOutput = log
        process.standardError = log
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

        let caller = Caller(authorization: "")
        let ready = try await eventually(timeout: .seconds(30)) {
            try await caller.call("GET", "http://127.0.0.1:\(port)/health/ready").0 == 200
        }
        let output = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        #expect(ready, "taskd as nobody did not become ready: \(output.suffix(1500))")
        #expect(!output.contains("Permission denied"), "\(output.suffix(1500))")
        kill(process.processIdentifier, SIGKILL)
        while process.isRunning { try await Task.sleep(for: .milliseconds(10)) }
    }
}
