import Foundation
import Logging
import NIOCore
import RedisClient
import Testing

/// What `./dev test` provides: a running redis-server and test certificates.
public enum TestEnvironment {
    public static var redisURL: String {
        guard let url = ProcessInfo.processInfo.environment["TASKD_TEST_REDIS_URL"] else {
            Issue.record("TASKD_TEST_REDIS_URL is not set: run the tests with ./dev test, which starts Redis")
            return "redis://127.0.0.1:6379"
        }
        return url
    }

    /// Shards of the task keyspace for tests that do not ask for a number: 1 unless TASKD_TEST_SHARDS
    /// says otherwise (the cluster run of `./dev test` spreads tasks over every master with ≥ 8).
    public static var shards: Int {
        ProcessInfo.processInfo.environment["TASKD_TEST_SHARDS"].flatMap { Int($0) } ?? 1
    }

    public static var tlsDirectory: String? { ProcessInfo.processInfo.environment["TASKD_TEST_TLS_DIR"] }

    /// The CA of the test certificates: what a rediss:// test URL (the cluster phase) is verified with.
    public static var testCA: String? { tlsDirectory.map { $0 + "/ca.crt" } }

    public static var stateDirectory: String {
        ProcessInfo.processInfo.environment["TASKD_TEST_STATE_DIR"] ?? NSTemporaryDirectory()
    }

    public static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .error
        return logger
    }()

    /// A key prefix no other test uses, so tests share one server without FLUSHALL.
    public static func uniquePrefix(_ name: String = #function) -> String {
        "test:\(name.prefix(while: { $0 != "(" })):\(UUID().uuidString.prefix(8))"
    }
}

/// Runs a client for the duration of `body`.
@discardableResult
public func withClient<T: Sendable>(
    url: String = TestEnvironment.redisURL,
    configure: (inout RedisConfiguration) -> Void = { _ in },
    _ body: (RedisClient) async throws -> T
) async throws -> T {
    var configuration = try RedisConfiguration(url: url)
    // A generous connect timeout (the default is 1 s): a test process starts many suites at once and
    // a starved event loop must not turn into a failed test. Tests of timeouts set their own.
    configuration.connectTimeout = .seconds(5)
    // The shared test Redis over TLS (the cluster phase) is signed by the test CA; a test's own
    // server says for itself what its client trusts.
    if url == TestEnvironment.redisURL, configuration.tls != nil, let ca = TestEnvironment.testCA {
        configuration.tls?.caFile = ca
    }
    configure(&configuration)
    let client = try RedisClient(configuration: configuration, logger: TestEnvironment.logger)
    return try await client.withRunning(body)
}

/// A redis-server of a test's own, for tests that stop it, kill its clients or need TLS.
public final class RedisServerProcess: @unchecked Sendable {
    public let port: Int
    private let process: Process
    private let directory: String

    /// Starts a server on `port` (a free one when nil) with extra command-line arguments.
    public init(port: Int? = nil, arguments: [String] = [], waitUntilReady: Bool = true) throws {
        self.port = try port ?? Self.freePort()
        directory = TestEnvironment.stateDirectory + "/redis-test-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
        let portArguments = arguments.contains("--tls-port") ? ["--port", "0", "--tls-port", String(self.port)] : ["--port", String(self.port)]
        process.arguments = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory,
                             "--logfile", directory + "/redis.log"] + portArguments + arguments.filter { $0 != "--tls-port" }
        try process.run()
        SpawnedProcesses.record(process.processIdentifier)
        if waitUntilReady { try waitForPort() }
    }

    public var url: String { "redis://127.0.0.1:\(port)" }

    /// SIGKILL without waiting for the exit, for a `defer` (see `TaskdProcess.stopNow()`).
    public func stopNow() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// Stops the server at once. SIGKILL, because a child of the test process inherits its blocked
    /// signal mask, SIGTERM included; and no `waitUntilExit`, which spins a thread of the test pool.
    public func stop() async {
        stopNow()
        while process.isRunning {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    deinit {
        stopNow()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A server on a free port, once it accepts connections (waited for without blocking a thread).
    public static func started(arguments: [String] = []) async throws -> RedisServerProcess {
        let server = try RedisServerProcess(arguments: arguments, waitUntilReady: false)
        try await server.ready()
        return server
    }

    /// Waits until the server accepts connections, polling without holding a thread of the test
    /// pool (for a server started with `waitUntilReady: false`).
    public func ready(timeout: Duration = .seconds(10)) async throws {
        let deadline = ContinuousClock.now + timeout
        while !Self.canConnect(port: port) {
            guard ContinuousClock.now < deadline else { throw RedisClientError(.unavailable, "test redis-server on port \(port) did not start") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    private func waitForPort() throws {
        for _ in 0..<200 {
            if Self.canConnect(port: port) { return }
            usleep(25_000)
        }
        throw RedisClientError(.unavailable, "test redis-server on port \(port) did not start")
    }

    public static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw RedisClientError(.unavailable, "no free port for a test redis-server") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Polls `condition` until it holds or `timeout` passes.
public func eventually(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return true }
        try await Task.sleep(for: .milliseconds(50))
    }
    return false
}

/// What a suite needs, for `swift test --filter` and for reading the test tree: suites in a
/// `NoServer/` folder need nothing, `Redis/` ones the test Redis `./dev test` starts (or
/// `TASKD_TEST_REDIS_URL`), `Processes/` ones start processes of their own (redis-server, taskd).
extension Tag {
    @Tag public static var redis: Self
    @Tag public static var processes: Self
}
