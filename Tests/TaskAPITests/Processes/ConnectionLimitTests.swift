import Foundation
import TestSupport
import Testing

/// Issue 13, finding 4: silent and half-sent connections stayed open for ever; at the open-file
/// limit every request timed out and taskd spun retrying accept. Each test runs a taskd of its own
/// with small limits and talks to it over plain sockets, byte by byte where that is the point.
/// One test at a time: each starts a taskd of its own, and the flood opens 600 connections.
@Suite(.tags(.processes), .serialized) struct ConnectionLimitTests {
    static let admin = ("limits-admin", "limits-secret-\(UUID().uuidString.prefix(8))")
    static var basic: String { "Basic " + Data("\(admin.0):\(admin.1)".utf8).base64EncodedString() }

    func withTaskd(_ settings: [String: String], openFileLimit: Int? = nil, _ body: (TaskdProcess) async throws -> Void) async throws {
        let taskd = try TaskdProcess(prefix: TestEnvironment.uniquePrefix("limits"), admin: Self.admin, settings: settings,
                                     openFileLimit: openFileLimit)
        let up = try await eventually(timeout: .seconds(30)) {
            // Authenticated: /health/live answers before the admin key is in Redis.
            guard let connection = try? await RawConnection.open(port: taskd.port) else { return false }
            try connection.send("GET /v1/tasks HTTP/1.1\r\nHost: t\r\nAuthorization: \(Self.basic)\r\nConnection: close\r\n\r\n")
            return try await connection.readUntilClosed(timeout: .seconds(5)).text.hasPrefix("HTTP/1.1 200")
        }
        #expect(up, "taskd did not come up; see \(taskd.logPath)")
        do {
            try await body(taskd)
        } catch {
            await taskd.stop()
            throw error
        }
        await taskd.stop()
    }

    @Test func silentHalfSentAndIdleConnectionsAreClosed() async throws {
        try await withTaskd(["TASKD_IDLE_TIMEOUT_SECONDS": "2"]) { taskd in
            let silent = try await RawConnection.open(port: taskd.port)
            let dribbling = try await RawConnection.open(port: taskd.port)
            let idle = try await RawConnection.open(port: taskd.port)
            try idle.send("GET /health/live HTTP/1.1\r\nHost: t\r\n\r\n")
            let started = ContinuousClock.now
            // One byte of a head every 300 ms: bytes that never complete a head are no activity.
            let head = Array("GET /health/live HTTP/1.1\r\nHost: t\r\nX-Slow: ".utf8) + Array(repeating: UInt8(ascii: "a"), count: 200)
            var sent = 0
            var closedAt: [String: Duration] = [:]
            while closedAt.count < 3, ContinuousClock.now - started < .seconds(30) {
                if closedAt["dribbling"] == nil, sent < head.count, (try? dribbling.send(bytes: [head[sent]])) != nil { sent += 1 }
                for (name, connection) in [("silent", silent), ("dribbling", dribbling), ("idle", idle)] where closedAt[name] == nil {
                    if try connection.drainIsClosed() { closedAt[name] = ContinuousClock.now - started }
                }
                try await Task.sleep(for: .milliseconds(300))
            }
            print("connection limits: closed after \(closedAt.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }) (idle timeout 2 s)")
            #expect(closedAt.count == 3, "still open: \(Set(["silent", "dribbling", "idle"]).subtracting(closedAt.keys))")
            // Never before the timeout: 1.5 s leaves room for coarse timers.
            #expect(closedAt.values.allSatisfy { $0 >= .milliseconds(1500) }, "\(closedAt)")
            #expect(idle.received.hasPrefix("HTTP/1.1 200"), "the idle connection was answered first")
        }
    }

    @Test func aBodyThatDoesNotArriveIsA408() async throws {
        try await withTaskd(["TASKD_REQUEST_TIMEOUT_SECONDS": "2"]) { taskd in
            let connection = try await RawConnection.open(port: taskd.port)
            try connection.send("POST /v1/tasks HTTP/1.1\r\nHost: t\r\nAuthorization: \(Self.basic)\r\n"
                + "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"commandType\":")
            let (text, closed) = try await connection.readUntilClosed(timeout: .seconds(30))
            #expect(text.hasPrefix("HTTP/1.1 408"), "\(text.prefix(300))")
            #expect(text.contains("request_timeout"))
            #expect(closed)
        }
    }

    @Test func pastTheLimitANewConnectionIsRefusedAndStreamsOutliveTheIdleTimeout() async throws {
        try await withTaskd(["TASKD_MAX_CONNECTIONS": "6", "TASKD_IDLE_TIMEOUT_SECONDS": "2"]) { taskd in
            var watchers: [RawConnection] = []
            for _ in 0..<6 {
                let watcher = try await RawConnection.open(port: taskd.port)
                try watcher.send("GET /v1/events HTTP/1.1\r\nHost: t\r\nAuthorization: \(Self.basic)\r\n\r\n")
                let answered = try await eventually(timeout: .seconds(20)) {
                    _ = try watcher.drainIsClosed()
                    return watcher.received.hasPrefix("HTTP/1.1 200")
                }
                #expect(answered, "watcher: \(watcher.received.prefix(200))")
                watchers.append(watcher)
            }
            let refused = try await RawConnection.open(port: taskd.port)
            try refused.send("GET /health/live HTTP/1.1\r\nHost: t\r\n\r\n")
            let (text, closed) = try await refused.readUntilClosed(timeout: .seconds(20))
            #expect(text.hasPrefix("HTTP/1.1 503"), "\(text.prefix(300))")
            #expect(text.lowercased().contains("retry-after: 1"))
            #expect(text.contains("too_many_connections"))
            #expect(closed)
            // Twice the idle timeout later, the streams are still open: they are being answered.
            try await Task.sleep(for: .seconds(4))
            for watcher in watchers { #expect(try !watcher.drainIsClosed(), "an SSE stream was closed as idle") }
            watchers.removeAll()
            let served = try await eventually(timeout: .seconds(20)) {
                let connection = try await RawConnection.open(port: taskd.port)
                try connection.send("GET /health/live HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                return try await connection.readUntilClosed(timeout: .seconds(5)).text.hasPrefix("HTTP/1.1 200")
            }
            #expect(served, "once the streams closed, new connections are served")
        }
    }

    /// The reported case: more connections than the process has file descriptors. taskd holds what
    /// its limit allows, does not spin, and serves a real client once the flood idles out.
    @Test func aFloodPastTheOpenFileLimitDoesNotSpinAndRecovers() async throws {
        try await withTaskd(["TASKD_IDLE_TIMEOUT_SECONDS": "3"], openFileLimit: 400) { taskd in
            var flood: [RawConnection] = []
            for _ in 0..<600 { flood.append(try RawConnection(connectingTo: taskd.port)) }
            try await Task.sleep(for: .seconds(1))
            let cpuBefore = try taskd.cpuSeconds()
            try await Task.sleep(for: .seconds(3))
            let cpu = try taskd.cpuSeconds() - cpuBefore
            print("connection limits: 600 connections against an open-file limit of 400: taskd used \(cpu) s of CPU in 3 s")
            #expect(cpu < 1.5, "taskd spun at the open-file limit: \(cpu) s of CPU in 3 s")
            #expect(taskd.isRunning)
            let started = ContinuousClock.now
            let served = try await eventually(timeout: .seconds(60)) {
                let connection = try await RawConnection.open(port: taskd.port)
                try connection.send("GET /v1/tasks HTTP/1.1\r\nHost: t\r\nAuthorization: \(Self.basic)\r\nConnection: close\r\n\r\n")
                return try await connection.readUntilClosed(timeout: .seconds(10)).text.hasPrefix("HTTP/1.1 200")
            }
            print("connection limits: an authenticated request was served \(ContinuousClock.now - started) after the flood")
            #expect(served, "no authenticated request got through after the flood; see \(taskd.logPath)")
            flood.removeAll()
        }
    }
}

/// A TCP connection to 127.0.0.1 on a plain socket: what a hostile or broken client does, byte by byte.
final class RawConnection: @unchecked Sendable {
    private let fd: Int32
    private(set) var received = ""

    /// Starts connecting (non-blocking); `open` also waits until it is connected.
    init(connectingTo port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSetupError("socket: errno \(errno)") }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if result != 0 && errno != EINPROGRESS {
            let error = errno
            close(fd)
            throw TestSetupError("connect: errno \(error)")
        }
    }

    /// A connection, once connected (a full listen backlog can hold a connect for seconds).
    static func open(port: Int, timeout: Duration = .seconds(30)) async throws -> RawConnection {
        let connection = try RawConnection(connectingTo: port)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            var poller = pollfd(fd: connection.fd, events: Int16(POLLOUT), revents: 0)
            if poll(&poller, 1, 0) == 1 {
                var error: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(connection.fd, SOL_SOCKET, SO_ERROR, &error, &length)
                guard error == 0 else { throw TestSetupError("connect: errno \(error)") }
                return connection
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestSetupError("connect to 127.0.0.1:\(port) did not complete within \(timeout)")
    }

    deinit { close(fd) }

    func send(_ text: String) throws { try send(bytes: Array(text.utf8)) }

    func send(bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written < 0 {
                if errno == EAGAIN || errno == EINTR { usleep(1000); continue }
                throw TestSetupError("send: errno \(errno)")
            }
            offset += written
        }
    }

    /// Reads what has arrived into `received`; true once the peer has closed (or reset) the connection.
    func drainIsClosed() throws -> Bool {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                received += String(decoding: buffer[0..<count], as: UTF8.self)
                continue
            }
            if count == 0 { return true }
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return false }
            if errno == ECONNRESET { return true }
            throw TestSetupError("recv: errno \(errno)")
        }
    }

    /// Everything received until the peer closed, or until `timeout`.
    func readUntilClosed(timeout: Duration) async throws -> (text: String, closed: Bool) {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try drainIsClosed() { return (received, true) }
            try await Task.sleep(for: .milliseconds(20))
        }
        return (received, false)
    }
}
