import Foundation

/// A command of a test's own (taskctl, redis-cli, tmux, bash) with its standard output and error in
/// files, readable while it runs; its exit is polled with `Task.sleep`, never `waitUntilExit`.
public final class CommandProcess: @unchecked Sendable {
    public let outputPath: String
    public let errorPath: String
    private let process = Process()

    /// `environment` is added to the test process's own.
    public init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        let stem = TestEnvironment.stateDirectory + "/\(URL(fileURLWithPath: executable).lastPathComponent)-\(UUID().uuidString.prefix(8))"
        outputPath = stem + ".out"
        errorPath = stem + ".err"
        for path in [outputPath, errorPath] {
            guard FileManager.default.createFile(atPath: path, contents: nil) else { throw TestSetupError("cannot create \(path)") }
        }
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
        try process.run()
        SpawnedProcesses.record(process.processIdentifier)
    }

    /// The taskctl binary `./dev test` built.
    public static var taskctlPath: String {
        get throws {
            guard let directory = ProcessInfo.processInfo.environment["TASKD_TEST_BIN_DIR"] else {
                throw TestSetupError("TASKD_TEST_BIN_DIR is not set: run the tests with ./dev test, which builds taskctl")
            }
            return directory + "/taskctl"
        }
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }
    public var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
    public var errors: String { (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "" }

    /// The exit status once it exits within `timeout`, else nil (it keeps running).
    public func exitStatus(within timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// SIGKILL without waiting for the exit, for a `defer` (see `TaskdProcess.stopNow()`).
    public func stopNow() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// SIGKILL, if it still runs; safe to call twice.
    public func stop() async {
        stopNow()
        _ = await exitStatus(within: .seconds(5))
    }

    deinit { stopNow() }
}

/// What a finished command printed and how it exited.
public struct CommandResult: Sendable, CustomStringConvertible {
    public let status: Int32
    public let output: String
    public let errors: String

    public var description: String { "exit \(status); stdout: \(output.suffix(1500)); stderr: \(errors.suffix(1500))" }

    /// Runs a command to its end (SIGKILLed past `timeout`, then status -1).
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                           timeout: Duration = .seconds(30)) async throws -> CommandResult {
        let process = try CommandProcess(executable, arguments, environment: environment)
        guard let status = await process.exitStatus(within: timeout) else {
            await process.stop()
            return CommandResult(status: -1, output: process.output, errors: process.errors + "\n(killed after \(timeout))")
        }
        return CommandResult(status: status, output: process.output, errors: process.errors)
    }
}
