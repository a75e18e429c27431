import Foundation
import TestSupport
import Testing

/// taskd refuses to start with settings an operator got wrong, with a sentence and a usage exit code.
@Suite(.tags(.processes)) struct StartupValidationTests {
    @Test func shortAdminSecretIsRefused() async throws {
        guard let binDirectory = ProcessInfo.processInfo.environment["TASKD_TEST_BIN_DIR"] else {
            throw TestSetupError("TASKD_TEST_BIN_DIR is not set: run the tests with ./dev test, which builds taskd")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binDirectory + "/taskd")
        var environment = ProcessInfo.processInfo.environment
        environment["TASKD_ADMIN_KEY"] = "admin"
        environment["TASKD_ADMIN_SECRET"] = "only-12-char"
        environment["TASKD_REDIS_URL"] = "redis://127.0.0.1:1"
        process.environment = environment
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = Pipe()
        try process.run()
        let deadline = ContinuousClock.now + .seconds(20)
        while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { process.terminate() }
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 64, "a usage error: \(process.terminationStatus)")
        #expect(message.contains("TASKD_ADMIN_SECRET must be 16–256"), "\(message)")
        #expect(!message.contains("only-12-char"), "the secret is not echoed")
    }
}
