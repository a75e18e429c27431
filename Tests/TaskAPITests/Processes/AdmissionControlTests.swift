import Foundation
import TestSupport
import Testing

/// Issue 17, scenario 9: past the in-flight limit the excess is answered at once, `503 overloaded`
/// with `Retry-After: 1` in its route's dialect; creates are refused first (from three quarters of
/// the limit), health checks never; a long-poll stops counting once it waits; the limit shrinks
/// while requests take longer than the latency target. Each test runs a taskd of its own; requests
/// are held in flight by sending their heads and all but the last byte of their bodies.
@Suite(.tags(.processes), .serialized) struct AdmissionControlTests {
    static let admin = ("admission-admin", "admission-secret-\(UUID().uuidString.prefix(8))")
    static var basic: String { "Basic " + Data("\(admin.0):\(admin.1)".utf8).base64EncodedString() }
    static let create = #"{"commandType":"admission-test"}"#

    /// A taskd with `settings`, and a client of it over plain sockets.
    struct Client {
        let taskd: TaskdProcess

        /// One request on a connection of its own; the whole answer.
        func request(_ method: String, _ path: String, body: String? = nil) async throws -> String {
            let connection = try await RawConnection.open(port: taskd.port)
            var head = "\(method) \(path) HTTP/1.1\r\nHost: t\r\nAuthorization: \(AdmissionControlTests.basic)\r\nConnection: close\r\n"
            if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n" }
            try connection.send(head + "\r\n" + (body ?? ""))
            return try await connection.readUntilClosed(timeout: .seconds(20)).text
        }

        /// A POST that stays in flight until `finish`: its body is one byte short.
        func hold(_ path: String, body: String) async throws -> Held {
            let connection = try await RawConnection.open(port: taskd.port)
            try connection.send("POST \(path) HTTP/1.1\r\nHost: t\r\nAuthorization: \(AdmissionControlTests.basic)\r\nConnection: close\r\n"
                + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body.dropLast())
            return Held(connection: connection, rest: String(body.last!))
        }

        /// A figure of this taskd's `/metrics` (never refused), nil when it is not there.
        func metric(_ name: String) async throws -> Double? {
            let scrape = try await request("GET", "/metrics")
            let line = scrape.split(whereSeparator: \.isNewline).first { $0.hasPrefix(name + " ") }
            return line.flatMap { Double($0.dropFirst(name.count + 1)) }
        }

        /// Waits until `count` requests are in flight: a held request's head may reach its route
        /// after a later connection's.
        func waitInFlight(_ count: Int) async throws {
            var seen: Double?
            let reached = try await eventually(timeout: .seconds(20)) {
                seen = try await metric("taskd_http_requests_in_flight")
                return seen == Double(count)
            }
            #expect(reached, "\(seen.map { "\($0)" } ?? "no figure") in flight, not \(count)")
        }
    }

    struct Held {
        let connection: RawConnection
        let rest: String

        /// Sends the last byte; the answer.
        func finish() async throws -> String {
            try complete()
            return try await answer()
        }

        func complete() throws { try connection.send(rest) }

        func answer() async throws -> String { try await connection.readUntilClosed(timeout: .seconds(20)).text }
    }

    func withTaskd(_ settings: [String: String], _ body: (Client) async throws -> Void) async throws {
        let taskd = try TaskdProcess(prefix: TestEnvironment.uniquePrefix("admission"), admin: Self.admin, settings: settings)
        let client = Client(taskd: taskd)
        let up = try await eventually(timeout: .seconds(30)) { try await client.request("GET", "/v1/tasks").hasPrefix("HTTP/1.1 200") }
        #expect(up, "taskd did not come up; see \(taskd.logPath)")
        do {
            try await body(client)
        } catch {
            await taskd.stop()
            throw error
        }
        await taskd.stop()
    }

    @Test func pastTheLimitTheExcessIsShedNewTasksFirst() async throws {
        // A fixed limit (no latency target): the held requests are slow on purpose.
        try await withTaskd(["TASKD_MAX_REQUESTS_IN_FLIGHT": "4", "TASKD_OVERLOAD_LAG_MS": "0"]) { client in
            var held: [Held] = []
            for _ in 0..<3 { held.append(try await client.hold("/v1/tasks", body: Self.create)) }
            // Three in flight: the fourth create is refused (three quarters of 4), a read is not.
            try await client.waitInFlight(3)
            let refusal = try await client.request("POST", "/v1/tasks", body: Self.create)
            #expect(refusal.hasPrefix("HTTP/1.1 503"), "a create with 3 of 4 requests in flight: \(refusal.prefix(300))")
            #expect(refusal.lowercased().contains("retry-after: 1"), "\(refusal.prefix(300))")
            #expect(refusal.contains(#""type":"overloaded""#), "\(refusal.prefix(400))")
            let read = try await client.request("GET", "/v1/tasks")
            #expect(read.hasPrefix("HTTP/1.1 200"), "a read with 3 of 4 in flight: \(read.prefix(300))")
            // Four in flight: every counted request is refused, in its own dialect; health is not.
            held.append(try await client.hold("/v1/tasks/\(UUID().uuidString.lowercased())/heartbeat", body: #"{"leaseToken":"not-a-lease"}"#))
            try await client.waitInFlight(4)
            let shedRead = try await client.request("GET", "/v1/tasks")
            #expect(shedRead.hasPrefix("HTTP/1.1 503"), "a read with 4 of 4 in flight: \(shedRead.prefix(300))")
            #expect(shedRead.contains(#""overloaded""#) && shedRead.lowercased().contains("retry-after: 1"), "\(shedRead.prefix(400))")
            let software = try await client.request("GET", "/v1/actions")
            #expect(software.hasPrefix("HTTP/1.1 503") && software.contains(#""error_code":"overloaded""#),
                    "Redis Software's error shape: \(software.prefix(400))")
            let kapi = try await client.request("GET", "/kapi/actions")
            #expect(kapi.hasPrefix("HTTP/1.1 503") && kapi.contains(#""code":"overloaded""#), "kAPI's error shape: \(kapi.prefix(400))")
            #expect(try await client.request("GET", "/health/live").hasPrefix("HTTP/1.1 200"))
            #expect(try await client.request("GET", "/health/ready").hasPrefix("HTTP/1.1 200"))
            // The held requests are served when their bodies complete, and the count goes back down.
            for request in held {
                let answer = try await request.finish()
                #expect(!answer.isEmpty && !answer.hasPrefix("HTTP/1.1 503"), "a held request was answered: \(answer.prefix(300))")
            }
            held.removeAll()
            try await client.waitInFlight(0)
            // Long-polls that wait do not count: four of them leave room for a read.
            var polls: [RawConnection] = []
            for _ in 0..<4 {
                let poll = try await RawConnection.open(port: client.taskd.port)
                let claim = #"{"workerId":"admission","commandTypes":["admission-nothing"],"waitSeconds":15}"#
                try poll.send("POST /v1/workers/claim HTTP/1.1\r\nHost: t\r\nAuthorization: \(Self.basic)\r\nConnection: close\r\n"
                    + "Content-Type: application/json\r\nContent-Length: \(claim.utf8.count)\r\n\r\n" + claim)
                polls.append(poll)
            }
            try await Task.sleep(for: .seconds(1))
            var afterPolls = ""
            let served = try await eventually(timeout: .seconds(10)) {
                afterPolls = try await client.request("GET", "/v1/tasks")
                return afterPolls.hasPrefix("HTTP/1.1 200")
            }
            #expect(served, "a read beside four waiting claims: \(afterPolls.prefix(300))")
            for poll in polls { #expect(try !poll.drainIsClosed() && poll.received.isEmpty, "a claim long-poll ended early: \(poll.received.prefix(200))") }
            polls.removeAll()
            let newWork = try await client.metric(#"taskd_http_requests_shed_total{class="new_work"}"#)
            let regular = try await client.metric(#"taskd_http_requests_shed_total{class="regular"}"#)
            print("admission control: shed new_work \(newWork ?? -1), regular \(regular ?? -1)")
            #expect(newWork == 1 && regular == 3, "one create and three reads were refused")
        }
    }

    /// A keep-alive connection refused on the event loop stays usable: the next request on it is
    /// answered by its route once there is room.
    @Test func aRefusedKeepAliveConnectionServesItsNextRequest() async throws {
        try await withTaskd(["TASKD_MAX_REQUESTS_IN_FLIGHT": "2", "TASKD_OVERLOAD_LAG_MS": "0"]) { client in
            // A create (from one in flight, three quarters of 2, new tasks are refused) and a heartbeat.
            var held = [try await client.hold("/v1/tasks", body: Self.create)]
            try await client.waitInFlight(1)
            held.append(try await client.hold("/v1/tasks/\(UUID().uuidString.lowercased())/heartbeat", body: #"{"leaseToken":"not-a-lease"}"#))
            try await client.waitInFlight(2)
            let connection = try await RawConnection.open(port: client.taskd.port)
            let get = "GET /v1/tasks HTTP/1.1\r\nHost: t\r\nAuthorization: \(Self.basic)\r\n\r\n"
            try connection.send(get)
            let refused = try await eventually(timeout: .seconds(10)) { _ = try connection.drainIsClosed(); return connection.received.contains("\r\n\r\n{") }
            #expect(refused && connection.received.hasPrefix("HTTP/1.1 503"), "\(connection.received.prefix(300))")
            #expect(try !connection.drainIsClosed(), "the refused keep-alive connection was closed")
            for request in held { _ = try await request.finish() }
            held.removeAll()
            try await client.waitInFlight(0)
            let before = connection.received.count
            try connection.send(get)
            let answered = try await eventually(timeout: .seconds(10)) {
                _ = try connection.drainIsClosed()
                return connection.received.dropFirst(before).contains("\"tasks\"")
            }
            #expect(answered && connection.received.dropFirst(before).hasPrefix("HTTP/1.1 200"), "\(connection.received.dropFirst(before).prefix(300))")
        }
    }

    /// Ten requests that each take a second (their bodies arrive late, as when Redis is slow) keep
    /// the pool idle: the limit stays where it was. Only a lagging pool shrinks it
    /// (AdmissionLimitRuleTests; the overload scenario of the fault suite).
    @Test func slowRequestsOnAnIdlePoolLeaveTheLimitAlone() async throws {
        try await withTaskd(["TASKD_MAX_REQUESTS_IN_FLIGHT": "16", "TASKD_OVERLOAD_LAG_MS": "50"]) { client in
            #expect(try await client.metric("taskd_http_requests_in_flight_limit") == 16)
            var held: [Held] = []
            for _ in 0..<10 { held.append(try await client.hold("/v1/tasks", body: Self.create)) }
            try await client.waitInFlight(10)
            try await Task.sleep(for: .seconds(1))
            for request in held { try request.complete() }
            for request in held { #expect(try await request.answer().hasPrefix("HTTP/1.1 202")) }
            held.removeAll()
            try await Task.sleep(for: .milliseconds(600))
            let limit = try await client.metric("taskd_http_requests_in_flight_limit")
            print("admission control: limit after ten slow requests \(limit ?? -1) (of 16)")
            #expect(limit == 16)
        }
    }
}
