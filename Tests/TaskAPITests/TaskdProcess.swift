import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

/// A taskd process on a free port, built by `./dev test` (`TASKD_TEST_BIN_DIR`).
final class TaskdProcess: @unchecked Sendable {
    let port: Int
    /// Where its standard error (the log) goes, when asked for.
    let logFile: URL?
    private let process = Process()

    /// `environment` adds to (or overrides) the TASKD_* variables set here.
    init(binary: String, redisURL: String, prefix: String, admin: (String, String), environment extra: [String: String] = [:], logFile: URL? = nil) throws {
        port = try RedisServerProcess.freePort()
        self.logFile = logFile
        process.executableURL = URL(fileURLWithPath: binary)
        var environment = ProcessInfo.processInfo.environment
        environment["TASKD_REDIS_URL"] = redisURL
        environment["TASKD_PORT"] = String(port)
        environment["TASKD_PREFIX"] = prefix
        environment["TASKD_ADMIN_KEY"] = admin.0
        environment["TASKD_ADMIN_SECRET"] = admin.1
        environment["TASKD_LOG_LEVEL"] = "warning"
        environment["TASKD_SHARDS"] = String(TestEnvironment.shards)
        if redisURL.hasPrefix("rediss://"), let ca = TestEnvironment.testCA { environment["TASKD_REDIS_CA_FILE"] = ca }
        environment.merge(extra) { _, new in new }
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        if let logFile {
            guard FileManager.default.createFile(atPath: logFile.path, contents: nil) else { throw CocoaError(.fileWriteUnknown) }
            process.standardError = try FileHandle(forWritingTo: logFile)
        }
        try process.run()
    }

    /// The taskd binary `./dev test` built; records an issue and returns nil when it is not set.
    static var binary: String? {
        guard let directory = ProcessInfo.processInfo.environment["TASKD_TEST_BIN_DIR"] else {
            Issue.record("TASKD_TEST_BIN_DIR is not set: run the tests with ./dev test, which builds taskd")
            return nil
        }
        return directory + "/taskd"
    }

    var base: String { "http://127.0.0.1:\(port)" }

    /// SIGKILL: a child of the test process inherits its blocked signal mask (SIGTERM included).
    func stop() async {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        while process.isRunning { try? await Task.sleep(for: .milliseconds(10)) }
    }
}

struct Caller {
    let authorization: String

    init(authorization: String) {
        self.authorization = authorization
    }

    /// HTTP Basic with `key:secret`.
    init(key: String, secret: String) {
        self.authorization = "Basic " + Data("\(key):\(secret)".utf8).base64EncodedString()
    }

    /// One request on a connection of its own, over SwiftNIO (HummingbirdTesting's client):
    /// URLSession on Linux has been seen to never hand over a response it had received.
    func send(_ method: String, _ url: String, _ body: String? = nil, headers extra: HTTPFields = [:]) async throws -> (status: Int, headers: HTTPFields, body: Data) {
        let parsed = try #require(URL(string: url))
        let host = try #require(parsed.host), port = try #require(parsed.port)
        var headers: HTTPFields = [.authorization: authorization, .contentType: "application/json"]
        headers.append(contentsOf: extra)
        let request = TestClient.Request(parsed.path, method: HTTPRequest.Method(rawValue: method)!, headers: headers,
                                         body: body.map { ByteBuffer(string: $0) })
        let response = try await TestClient.withClient(host: host, port: port) { client in try await client.execute(request) }
        return (response.status.code, response.headers, response.body.map { Data($0.readableBytesView) } ?? Data())
    }

    /// The status and the JSON object answered (empty when the body is none).
    func call(_ method: String, _ url: String, _ body: String? = nil) async throws -> (Int, [String: Any]) {
        let (status, _, data) = try await send(method, url, body)
        return (status, (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:])
    }
}
