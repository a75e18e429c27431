import Foundation
import TestSupport
import Testing

/// A `/metrics` answer read by real parsers: `promtool check metrics` (Debian's prometheus package)
/// lints it, and prometheus_client's text parser (Tests/Python/metrics_samples.py, run by the
/// Python that `./dev test` sets up in `TASKD_TEST_PYTHON`) turns it into samples.
struct MetricsScrape {
    let text: String
    /// Family name → type, as the parser read them.
    let families: [String: String]
    let samples: [(name: String, labels: [String: String], value: Double)]

    static let parserScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Python/metrics_samples.py").standardized.path

    init(_ text: String) async throws {
        self.text = text
        // Kept with the run's logs: `./dev test` searches every scrape for the secrets the tests used.
        try? Data(text.utf8).write(to: URL(fileURLWithPath: TestEnvironment.stateDirectory + "/metrics-\(UUID().uuidString.prefix(8)).prom"))
        let python = try #require(ProcessInfo.processInfo.environment["TASKD_TEST_PYTHON"], "TASKD_TEST_PYTHON is not set: run the tests with ./dev test")
        let (status, output, errors) = try await Self.run(python, [Self.parserScript], input: text)
        try #require(status == 0, "prometheus_client could not parse /metrics: \(errors)")
        let parsed = try #require(try JSONSerialization.jsonObject(with: output) as? [String: Any])
        families = parsed["families"] as? [String: String] ?? [:]
        samples = (parsed["samples"] as? [[Any]] ?? []).compactMap { sample in
            guard sample.count == 3, let name = sample[0] as? String, let labels = sample[1] as? [String: String],
                  let value = (sample[2] as? NSNumber)?.doubleValue else { return nil }
            return (name, labels, value)
        }
    }

    /// The sample with exactly these labels, or nil.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    /// What `promtool check metrics` says; empty when it finds nothing to complain about.
    func promtoolProblems() async throws -> String? {
        let (status, output, errors) = try await Self.run("/usr/bin/promtool", ["check", "metrics"], input: text)
        return status == 0 ? nil : String(decoding: output, as: UTF8.self) + errors
    }

    /// Runs a program on `input` (with `environment` on top of the test's own); its output through
    /// files, its exit polled: a blocking read or `waitUntilExit` would hold one of the test pool's
    /// threads (two on this machine), and every other suite's timeouts run on them.
    static func run(_ executable: String, _ arguments: [String], input: String, environment: [String: String] = [:],
                    timeout: Duration = .seconds(60)) async throws -> (Int32, Data, String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("scrape-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let inputFile = directory.appendingPathComponent("in"), outputFile = directory.appendingPathComponent("out"),
            errorFile = directory.appendingPathComponent("err")
        try Data(input.utf8).write(to: inputFile)
        guard FileManager.default.createFile(atPath: outputFile.path, contents: nil),
              FileManager.default.createFile(atPath: errorFile.path, contents: nil) else { throw CocoaError(.fileWriteUnknown) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        process.standardInput = try FileHandle(forReadingFrom: inputFile)
        process.standardOutput = try FileHandle(forWritingTo: outputFile)
        process.standardError = try FileHandle(forWritingTo: errorFile)
        try process.run()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { process.terminate() }
        return (process.terminationStatus, try Data(contentsOf: outputFile), String(decoding: try Data(contentsOf: errorFile), as: UTF8.self))
    }
}
