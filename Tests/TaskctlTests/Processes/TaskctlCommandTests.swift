import Foundation
import TestSupport
import Testing

/// Every taskctl subcommand against a real taskd and demo workers: what it prints and how it exits,
/// the error paths included (README, "taskctl": the exit codes).
@Suite(.tags(.processes)) struct TaskctlCommandTests {
    static let unknownID = "01a205c3-7630-7000-917e-31b5e9ea6dbe"

    @Test func submitWatchGetListDelete() async throws {
        let ctl = try await TaskctlFixture.start()
        defer { ctl.stopNow() }

        let id = try await ctl.submit(["backup", "--object-name", "bdb:7", "--op", "1", "--op", "2", "--description", "nightly"])
        #expect(id.count == 36, "submit prints the id alone: \(id)")

        // Standard output is a file here, so watch prints one line per event.
        let watched = try await ctl.taskctl(["watch", id])
        #expect(watched.status == 0, "watch exits 0 on completed: \(watched)")
        let events = watched.lines.dropLast()
        #expect(watched.lines.last == "task \(id) completed")
        #expect(events.first?.contains(" created queued 0% ") == true, "\(watched.lines)")
        #expect(events.allSatisfy { $0.range(of: #"^\d+-\d+ [a-z]+ [a-z]+ [0-9.]+% attempt=\d+ version=\d+"#, options: .regularExpression) != nil }, "\(events)")
        let versions = events.compactMap { $0.firstMatch(of: /version=(\d+)/).map { Int($0.1)! } }
        #expect(versions == Array(1...versions.count), "every event once, in order: \(versions)")
        #expect(events.last?.contains("completed 100% ") == true && events.last?.contains("ops=1:100%,2:100%") == true, "\(events.last ?? "")")

        let shown = try await ctl.taskctl(["get", id])
        #expect(shown.status == 0)
        for expected in ["task         \(id)", "status       completed", "commandType  backup", "progress     100%", "description  nightly",
                         "objectName   bdb:7", "op 1         100%", "op 2         100%"] {
            #expect(shown.output.contains(expected), "get shows \(expected): \(shown.output)")
        }
        let json = try await ctl.taskctl(["get", id, "--output", "json"])
        let task = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
        #expect(task["lifecycleStatus"] as? String == "completed" && task["taskId"] as? String == id)
        // Keys in alphabetical order at every level, whatever order taskd wrote them in.
        let keys = json.output.matches(of: /\n  "([A-Za-z_]+)" :/).map { String($0.1) }
        #expect(keys == keys.sorted() && keys.count == task.count, "\(keys)")

        let second = try await ctl.submit(["reshard", "--op", "1"])
        #expect(try await ctl.taskctl(["watch", second]).status == 0)
        let table = try await ctl.taskctl(["list", "--command-type", "backup"])
        #expect(table.lines.first?.hasPrefix("TASK ") == true && table.lines.first?.contains("STATUS") == true, "\(table)")
        #expect(table.lines.count == 2 && table.lines[1].hasPrefix("\(id)  completed  backup   bdb:7   100%"), "\(table)")
        let page = try await ctl.taskctl(["list", "--limit", "1"])
        #expect(page.lines.count == 2 && page.errors.contains("more: taskctl list --cursor "), "\(page)")
        let everything = try await ctl.taskctl(["list", "--limit", "1", "--all", "--output", "json"])
        let listed = try #require(try JSONSerialization.jsonObject(with: Data(everything.output.utf8)) as? [String: Any])
        #expect((listed["tasks"] as? [[String: Any]])?.compactMap { $0["taskId"] as? String } == [second, id], "\(everything)")
        let filtered = try await ctl.taskctl(["list", "--status", "completed", "--object-name", "bdb:7", "--output", "json"])
        #expect(filtered.output.contains(id) && !filtered.output.contains(second))

        let deleted = try await ctl.taskctl(["delete", id])
        #expect(deleted.status == 0 && deleted.output == "\(id) deleted\n", "\(deleted)")
        let gone = try await ctl.taskctl(["get", id])
        #expect(gone.status == 8 && gone.errors.hasPrefix("taskctl: 404 not found: GET /v1/tasks/\(id): No task"), "\(gone)")
    }

    @Test func errorsAndExitCodes() async throws {
        let ctl = try await TaskctlFixture.start()
        defer { ctl.stopNow() }
        let viewer = try await ctl.taskctl(["keys", "create", "--role", "viewer", "--name", "watcher"]).output.trimmingCharacters(in: .newlines)
        let operatorKey = try await ctl.taskctl(["keys", "create", "--role", "operator", "--name", "ops"]).output.trimmingCharacters(in: .newlines)
        #expect(viewer.contains(":") && operatorKey.contains(":"))
        // ./dev test searches the run's logs for every secret a test used.
        for credential in [viewer, operatorKey] { TestSecrets.record(String(credential.split(separator: ":").last ?? "")) }

        // 401: one line naming the status and what to check; the secret is never printed, not even with --verbose.
        let wrongSecret = "wrong-secret-\(UUID().uuidString.prefix(8))"
        let refused = try await ctl.taskctl(["list", "--verbose"], credential: "\(ctl.admin.key):\(wrongSecret)")
        #expect(refused.status == 6, "\(refused)")
        #expect(refused.errors.contains("taskctl: 401 unauthorized: GET /v1/tasks") && refused.errors.contains("check TASKD_CREDENTIAL"), "\(refused)")
        #expect(refused.errors.contains("as key \(ctl.admin.key)"), "--verbose names the key id: \(refused)")
        #expect(!(refused.output + refused.errors).contains(wrongSecret), "\(refused)")
        let anonymous = try await ctl.taskctl(["list"], credential: "")
        #expect(anonymous.status == 6 && anonymous.errors.contains("401"), "no credential: \(anonymous)")

        // 403: a viewer may read but not cancel.
        let queued = try await ctl.submit(["unserved"])
        #expect(try await ctl.taskctl(["get", queued], credential: viewer).status == 0)
        let forbidden = try await ctl.taskctl(["cancel", queued], credential: viewer)
        #expect(forbidden.status == 7 && forbidden.errors.hasPrefix("taskctl: 403 forbidden: POST /v1/tasks/\(queued)/actions/cancel"), "\(forbidden)")

        // 404.
        let unknown = try await ctl.taskctl(["watch", Self.unknownID], credential: viewer)
        #expect(unknown.status == 8 && unknown.errors.contains("404 not found"), "\(unknown)")

        // cancel, then watch a cancelled task: exit 3.
        let cancelled = try await ctl.taskctl(["cancel", queued], credential: operatorKey)
        #expect(cancelled.status == 0 && cancelled.output == "\(queued) cancelled\n", "\(cancelled)")
        let watchedCancel = try await ctl.taskctl(["watch", queued], credential: viewer)
        #expect(watchedCancel.status == 3 && watchedCancel.lines.last == "task \(queued) cancelled", "\(watchedCancel)")

        // A failed task: watch exits 2; dismiss turns it dismissed; dismissing again is a 409.
        let failing = try await ctl.submit(["create_db"])
        let watchedFailure = try await ctl.taskctl(["watch", failing])
        #expect(watchedFailure.status == 2 && watchedFailure.lines.last == "task \(failing) failed", "\(watchedFailure)")
        let dismissed = try await ctl.taskctl(["dismiss", failing], credential: operatorKey)
        #expect(dismissed.status == 0 && dismissed.output == "\(failing) dismissed\n", "\(dismissed)")
        #expect(try await ctl.field("lifecycleStatus", of: failing) == "dismissed")

        // 409: dismissing a running task. Twenty ops of four steps each keep it running for seconds.
        let long = try await ctl.submit(["reshard"] + (1...20).flatMap { ["--op", String($0)] })
        #expect(try await eventually(timeout: .seconds(15)) { try await ctl.field("lifecycleStatus", of: long) == "running" })
        let conflict = try await ctl.taskctl(["dismiss", long])
        #expect(conflict.status == 9 && conflict.errors.hasPrefix("taskctl: 409 conflict: POST /v1/tasks/\(long)/dismiss"), "\(conflict)")
        let forced = try await ctl.taskctl(["cancel", long, "--force", "--output", "json"])
        #expect(forced.status == 0 && forced.output.contains(#""lifecycleStatus" : "cancelled""#), "\(forced)")

        // Usage errors are 64; an unreachable taskd is 5.
        #expect(try await ctl.taskctl(["watch"]).status == 64)
        #expect(try await ctl.taskctl(["list", "--url", "ftp://127.0.0.1"]).status == 64)
        let closed = try RedisServerProcess.freePort()
        let unreachable = try await ctl.taskctl(["list"], url: "http://127.0.0.1:\(closed)")
        #expect(unreachable.status == 5 && unreachable.errors.hasPrefix("taskctl: cannot reach taskd at http://127.0.0.1:\(closed)"), "\(unreachable)")
    }

    @Test func keysCreateListDelete() async throws {
        let ctl = try await TaskctlFixture.start(workers: false)
        defer { ctl.stopNow() }
        let created = try await ctl.taskctl(["keys", "create", "--role", "worker", "--name", "backup worker", "--output", "json"])
        let key = try #require(try JSONSerialization.jsonObject(with: Data(created.output.utf8)) as? [String: Any])
        let id = try #require(key["key"] as? String)
        TestSecrets.record(key["secret"] as? String ?? "")
        #expect(key["role"] as? String == "worker" && (key["secret"] as? String)?.isEmpty == false, "\(created)")
        let listed = try await ctl.taskctl(["keys", "list"])
        #expect(listed.lines.first?.hasPrefix("KEY ") == true, "\(listed)")
        #expect(listed.lines.contains { $0.hasPrefix(id) && $0.contains("  worker  backup worker  ") }, "\(listed)")
        #expect(!listed.output.contains(key["secret"] as? String ?? "-"), "a list never shows a secret")
        // A worker key may not list tasks: 403.
        #expect(try await ctl.taskctl(["list"], credential: "\(id):\(key["secret"] as? String ?? "")").status == 7)
        #expect(try await ctl.taskctl(["keys", "delete", id]).output == "\(id) deleted\n")
        let again = try await ctl.taskctl(["keys", "delete", id])
        #expect(again.status == 8 && again.errors.contains("404 not found"), "\(again)")
        // The last admin key cannot go: 409.
        let last = try await ctl.taskctl(["keys", "delete", ctl.admin.key])
        #expect(last.status == 9 && last.errors.contains("409 conflict"), "\(last)")
    }
}
