import Foundation

/// A `taskd` process of a test's own (the binary `./dev test` built) on a free loopback port.
public final class TaskdProcess: @unchecked Sendable {
    public let port: Int
    public let logPath: String
    /// Set when the log (standard error alone) goes to a file the test named.
    public let logFile: URL?
    private let process = Process()

    /// `settings` are `TASKD_*` variables on top of these; `openFileLimit` starts it under `prlimit`;
    /// `logFile` takes standard error alone (standard output is dropped), else both go to `logPath`;
    /// `port` reuses a port (a replica restarted where clients know it), else a free one is taken.
    public init(redisURL: String = TestEnvironment.redisURL, prefix: String, admin: (String, String),
                settings: [String: String] = [:], openFileLimit: Int? = nil, logFile: URL? = nil, port: Int? = nil) throws {
        guard let binDirectory = ProcessInfo.processInfo.environment["TASKD_TEST_BIN_DIR"] else {
            throw TestSetupError("TASKD_TEST_BIN_DIR is not set: run the tests with ./dev test, which builds taskd")
        }
        self.port = try port ?? RedisServerProcess.freePort()
        self.logFile = logFile
        logPath = logFile?.path ?? TestEnvironment.stateDirectory + "/taskd-\(self.port)-\(UUID().uuidString.prefix(8)).log"
        guard FileManager.default.createFile(atPath: logPath, contents: nil) else { throw TestSetupError("cannot create \(logPath)") }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        if let openFileLimit {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
            process.arguments = ["--nofile=\(openFileLimit):\(openFileLimit)", "--", binDirectory + "/taskd"]
        } else {
            process.executableURL = URL(fileURLWithPath: binDirectory + "/taskd")
        }
        var environment = ProcessInfo.processInfo.environment
        environment["TASKD_REDIS_URL"] = redisURL
        environment["TASKD_PORT"] = String(self.port)
        environment["TASKD_PREFIX"] = prefix
        environment["TASKD_ADMIN_KEY"] = admin.0
        environment["TASKD_ADMIN_SECRET"] = admin.1
        TestSecrets.record(admin.1)
        environment["TASKD_LOG_LEVEL"] = "info"
        environment["TASKD_SHARDS"] = String(TestEnvironment.shards)
        if redisURL.hasPrefix("rediss://"), let ca = TestEnvironment.testCA { environment["TASKD_REDIS_CA_FILE"] = ca }
        for (name, value) in settings { environment[name] = value }
        process.environment = environment
        process.standardOutput = logFile == nil ? log : FileHandle.nullDevice
        process.standardError = log
        try process.run()
        SpawnedProcesses.record(process.processIdentifier)
    }

    public var base: String { "http://127.0.0.1:\(port)" }
    /// prlimit execs taskd, so this is taskd's pid either way.
    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    /// User plus system CPU seconds the process has used so far (/proc/<pid>/stat).
    public func cpuSeconds() throws -> Double {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        // Fields after the command name in parentheses: utime and stime are the 12th and 13th.
        guard let close = stat.lastIndex(of: ")") else { throw TestSetupError("unreadable /proc/\(pid)/stat") }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else {
            throw TestSetupError("unreadable /proc/\(pid)/stat")
        }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        return (user + system) / ticks
    }

    /// Sends SIGTERM and waits for the exit, at most `timeout`; the time it took, or nil when it
    /// was still running (then it is SIGKILLed). taskd's ServiceLifecycle handles SIGTERM itself
    /// (the blocked mask it inherits does not hide it from its signal source).
    public func terminate(timeout: Duration) async -> Duration? {
        let started = ContinuousClock.now
        kill(process.processIdentifier, SIGTERM)
        while process.isRunning, ContinuousClock.now - started < timeout { try? await Task.sleep(for: .milliseconds(20)) }
        guard !process.isRunning else {
            await stop()
            return nil
        }
        return ContinuousClock.now - started
    }

    /// SIGKILL without waiting for the exit, for a `defer` (which cannot `await`): the process is
    /// gone before the test returns, also when it fails. `defer { Task { await stop() } }` started a
    /// task the test process could exit before it ran, and left the process running.
    public func stopNow() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// SIGKILL: a child of the test process inherits its blocked signal mask (SIGTERM included).
    public func stop() async {
        stopNow()
        while process.isRunning { try? await Task.sleep(for: .milliseconds(10)) }
    }

    deinit { stopNow() }
}
