import Foundation
import TestSupport
import Testing

/// `taskctl watch` across a taskd replica restart: the stream breaks, taskctl opens it again with
/// `Last-Event-ID` on the replica that comes back, and shows every event of the task's stream
/// exactly once, in order. And when no replica comes back, it gives up with exit code 4.
@Suite(.tags(.processes)) struct WatchResumeTests {
    @Test func watchResumesAfterAReplicaRestartWithoutMissingAnEvent() async throws {
        // Slow steps: the task runs for several seconds, so the restart happens in its middle.
        let ctl = try await TaskctlFixture.start(stepMs: 150)
        defer { ctl.stopNow() }
        let id = try await ctl.submit(["reshard", "--op", "1", "--op", "2", "--op", "3"])
        let watch = try ctl.startTaskctl(["watch", id])
        defer { watch.stopNow() }
        #expect(try await eventually { watch.output.split(separator: "\n").count >= 3 }, "watch shows events: \(watch.output) \(watch.errors)")

        // SIGKILL: the connection drops mid-stream, as when a replica crashes.
        let port = ctl.taskd.port
        await ctl.taskd.stop()
        try await Task.sleep(for: .milliseconds(300))
        let restarted = try TaskdProcess(prefix: ctl.prefix, admin: ctl.admin, port: port)
        defer { restarted.stopNow() }
        let status = await watch.exitStatus(within: .seconds(40))
        #expect(status == 0, "watch ends with the task completed: \(watch.output) \(watch.errors)")
        #expect(watch.errors.contains("connection lost") && watch.errors.contains("resumed after event"), "\(watch.errors)")

        // Every entry of the task's stream was shown once, in order: compare with Redis itself.
        let keys = try await ctl.taskctl(["redis", id])
        let streamKey = try #require(keys.output.firstMatch(of: /XRANGE '([^']+)' - \+/).map { String($0.1) }, "\(keys)")
        let stream = try await CommandResult.run("/usr/bin/redis-cli", ["-u", TestEnvironment.redisURL, "XRANGE", streamKey, "-", "+"])
        let stored = stream.output.split(separator: "\n").filter { $0.wholeMatch(of: /\d+-\d+/) != nil }.map(String.init)
        let shown = watch.output.split(separator: "\n").compactMap { $0.firstMatch(of: #/^(\d+-\d+) /#).map { String($0.1) } }
        #expect(!stored.isEmpty && shown == stored, "shown \(shown), stored \(stored)")
        #expect(watch.output.hasSuffix("task \(id) completed\n"))
    }

    @Test func watchGivesUpWhenTheStreamCannotBeResumed() async throws {
        let ctl = try await TaskctlFixture.start(workers: false)
        defer { ctl.stopNow() }
        let id = try await ctl.submit(["unserved"])
        let watch = try ctl.startTaskctl(["watch", id, "--reconnect-for", "1"])
        defer { watch.stopNow() }
        #expect(try await eventually { watch.output.contains(" created queued ") }, "\(watch.output) \(watch.errors)")
        await ctl.taskd.stop()
        let status = await watch.exitStatus(within: .seconds(15))
        #expect(status == 4, "\(watch.output) \(watch.errors)")
        #expect(watch.errors.contains("taskctl: lost the event stream of task \(id) and could not resume it for 1 s"), "\(watch.errors)")
    }
}
