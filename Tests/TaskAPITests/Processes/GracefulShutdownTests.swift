import Foundation
import TestSupport
import Testing

/// SIGTERM with SSE watchers and a claim long-poll open: taskd exits within 10 s, with Redis up and
/// with Redis gone (a replica with three watchers and a long-poll was seen running 30–60 s after
/// SIGTERM: the server waited for streams that never end). Watchers get an `error` event saying
/// why, so they resume elsewhere with Last-Event-ID; the long-poll is answered 204.
@Suite(.tags(.processes), .serialized) struct GracefulShutdownTests {
    static let admin = ("shutdown-admin", "shutdown-secret-\(UUID().uuidString.prefix(8))")
    static var basic: String { "Basic " + Data("\(admin.0):\(admin.1)".utf8).base64EncodedString() }

    func request(_ method: String, _ path: String, _ body: String? = nil) -> String {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: t\r\nAuthorization: \(Self.basic)\r\n"
        if let body { text += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n" }
        return text + "\r\n" + (body ?? "")
    }

    @Test(arguments: [false, true])
    func sigtermEndsStreamsAndExitsPromptly(redisGone: Bool) async throws {
        let redis = try await RedisServerProcess.started()
        let taskd = try TaskdProcess(redisURL: redis.url, prefix: "shutdown", admin: Self.admin)
        defer { taskd.stopNow(); redis.stopNow() }
        let up = try await eventually(timeout: .seconds(30)) {
            let connection = try await RawConnection.open(port: taskd.port)
            try connection.send(request("GET", "/v1/tasks").replacingOccurrences(of: "\r\n\r\n", with: "\r\nConnection: close\r\n\r\n"))
            return try await connection.readUntilClosed(timeout: .seconds(5)).text.hasPrefix("HTTP/1.1 200")
        }
        try #require(up, "taskd did not come up; see \(taskd.logPath)")

        let create = try await RawConnection.open(port: taskd.port)
        try create.send(request("POST", "/v1/tasks", #"{"commandType":"shutdown"}"#))
        let created = try await eventually { _ = try create.drainIsClosed(); return create.received.contains("\"taskId\"") }
        try #require(created, "\(create.received.prefix(300))")
        let id = try #require(create.received.firstMatch(of: /"taskId":"([^"]+)"/)?.1).description

        let all = try await RawConnection.open(port: taskd.port)
        try all.send(request("GET", "/v1/events"))
        let one = try await RawConnection.open(port: taskd.port)
        try one.send(request("GET", "/v1/tasks/\(id)/events"))
        let claim = try await RawConnection.open(port: taskd.port)
        try claim.send(request("POST", "/v1/workers/claim", #"{"workerId":"w","commandTypes":["nothing-here"],"waitSeconds":30}"#))
        for stream in [all, one] {
            let open = try await eventually { _ = try stream.drainIsClosed(); return stream.received.hasPrefix("HTTP/1.1 200") }
            #expect(open, "\(stream.received.prefix(200))")
        }
        try await Task.sleep(for: .milliseconds(500))   // the claim is waiting
        if redisGone { await redis.stop() }

        let took = await taskd.terminate(timeout: .seconds(20))
        print("graceful shutdown (Redis \(redisGone ? "gone" : "up")): exited after \(took.map { "\($0)" } ?? "more than 20 s") with 2 SSE streams and a claim long-poll open")
        #expect(took.map { $0 <= .seconds(10) } == true, "taskd took \(took.map { "\($0)" } ?? "more than 20 s") to exit; see \(taskd.logPath)")
        for stream in [all, one] {
            _ = try await stream.readUntilClosed(timeout: .seconds(2))
            #expect(stream.received.contains("event: error") && stream.received.contains("shutting down"),
                    "the watcher is told why: \(stream.received.suffix(300))")
        }
        _ = try await claim.readUntilClosed(timeout: .seconds(2))
        #expect(claim.received.hasPrefix("HTTP/1.1 204") || claim.received.hasPrefix("HTTP/1.1 503"), "\(claim.received.prefix(300))")
    }
}
