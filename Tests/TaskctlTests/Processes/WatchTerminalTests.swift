import Foundation
import TestSupport
import Testing

/// `taskctl watch` on a real terminal: tmux (a private server, `tmux -L`) runs it in a detached
/// session, and `tmux capture-pane -p` reads the screen while the demo worker moves the task.
@Suite(.tags(.processes)) struct WatchTerminalTests {
    static let tmux = "/usr/bin/tmux"

    @Test func progressBarsMoveAndTheLastScreenShowsTheEnd() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.tmux), "tmux is missing: ./dev test installs it")
        let ctl = try await TaskctlFixture.start(stepMs: 120)
        defer { ctl.stopNow() }
        let id = try await ctl.submit(["reshard", "--object-name", "bdb:3", "--op", "1", "--op", "2", "--op", "3"])

        let socket = "taskctl-test-\(UUID().uuidString.prefix(8))"
        let exitFile = TestEnvironment.stateDirectory + "/\(socket).exit"
        // The shell records taskctl's exit code and keeps the pane open for the last capture.
        let script = "'\(try CommandProcess.taskctlPath)' watch \(id); echo $? > '\(exitFile)'; sleep 60"
        // The client that starts the tmux server is not seen to exit by Foundation's Process (it
        // stays "running" though the session is up), so it is not waited for: the session is.
        let launcher = try CommandProcess(Self.tmux, [
            "-L", socket, "new-session", "-d", "-s", "watch", "-x", "100", "-y", "12",
            "-e", "TASKD_URL=\(ctl.url)", "-e", "TASKD_CREDENTIAL=\(ctl.adminCredential)", "/bin/sh", "-c", script,
        ])
        defer {
            Task {
                _ = try? await CommandResult.run(Self.tmux, ["-L", socket, "kill-server"])
                await launcher.stop()
            }
        }
        let up = try await eventually { try await CommandResult.run(Self.tmux, ["-L", socket, "has-session", "-t", "watch"], timeout: .seconds(5)).status == 0 }
        #expect(up, "the tmux session started: \(launcher.errors)")

        var screens: [String] = []
        let deadline = ContinuousClock.now + .seconds(40)
        while !FileManager.default.fileExists(atPath: exitFile), ContinuousClock.now < deadline {
            let capture = try await CommandResult.run(Self.tmux, ["-L", socket, "capture-pane", "-p", "-t", "watch"])
            if capture.status == 0, screens.last != capture.output { screens.append(capture.output) }
            try await Task.sleep(for: .milliseconds(150))
        }
        try await Task.sleep(for: .milliseconds(100))
        let last = try await CommandResult.run(Self.tmux, ["-L", socket, "capture-pane", "-p", "-t", "watch"]).output
        let exitCode = try? String(contentsOfFile: exitFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(exitCode == "0", "watch exits 0 once the task completed; last screen:\n\(last)")

        // The task's bar moved through values between 0 and 100 on screens in between.
        let taskPercents = screens.compactMap { screen in
            screen.firstMatch(of: /\] +(\d+(?:\.\d)?)%  task/).flatMap { Double($0.1) }
        }
        let between = Set(taskPercents.filter { $0 > 0 && $0 < 100 })
        #expect(between.count >= 2, "the bar moved: \(taskPercents); screens:\n\(screens.joined(separator: "\n-----\n"))")
        #expect(taskPercents == taskPercents.sorted(), "progress only grows: \(taskPercents)")
        #expect(screens.contains { $0.contains("[#") && $0.contains("-] ") }, "a partly filled bar")

        // The last screen: the terminal state, every bar full, redrawn in place (one heading, not one per event).
        #expect(last.contains("reshard \(id)  completed  attempt 1  bdb:3"), "\(last)")
        #expect(last.contains("task completed"), "\(last)")
        for label in ["task", "op 1", "op 2", "op 3"] {
            #expect(last.contains("#]  100%  \(label)"), "\(label) at 100%, its bar full:\n\(last)")
        }
        #expect(last.components(separatedBy: "reshard \(id)").count == 2, "drawn in place:\n\(last)")
    }
}
