import ArgumentParser
import Foundation

/// `taskctl watch ID`: the task's live events (GET /v1/tasks/{taskId}/events) as progress bars on a
/// terminal, or one line per event otherwise; exits with the task's end (0 completed, 2 failed or
/// dismissed, 3 cancelled) or 4 when a broken stream could not be resumed within --reconnect-for.
struct WatchCommand: TaskdCommand {
    static let configuration = CommandConfiguration(commandName: "watch", abstract: "Follow a task live until it ends.")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The task id.") var taskID: String
    @Flag(help: "One line per event, even on a terminal (the default when standard output is not one).") var plain = false
    @Option(help: "Seconds to keep trying to resume a broken stream before giving up (exit 4).") var reconnectFor = 30

    func validate() throws {
        guard reconnectFor >= 0 else { throw ValidationError("--reconnect-for must be 0 or more seconds") }
    }

    func execute(_ client: TaskdClient) async throws -> ExitStatus {
        try await TaskWatch(client: client, taskID: taskID, display: .forStandardOutput(plain: plain), reconnectFor: .seconds(reconnectFor)).run()
    }
}

/// Follows one task's event stream to its terminal event. A stream that breaks (a replica
/// restarted, a dropped connection, taskd shutting down, 503) is opened again with `Last-Event-ID`,
/// so no event is missed or shown twice, with backoff from 100 ms to 2 s, for at most `reconnectFor`
/// since the stream last worked.
struct TaskWatch {
    let client: TaskdClient
    let taskID: String
    var display: WatchDisplay
    var reconnectFor: Duration = .seconds(30)

    /// Ops are read at most this often (each read is one GET), and always at the end.
    static let opsInterval: Duration = .milliseconds(250)

    func run() async throws -> ExitStatus {
        let path = "/v1/tasks/\(TaskdClient.percentEncoded(taskID))/events"
        var display = self.display
        var lastEventID: String?
        var brokenSince: ContinuousClock.Instant?
        var backoff: Duration = .milliseconds(100)
        var ops: [OpState] = []
        var opsReadAt: ContinuousClock.Instant?
        while true {
            var reason = "the stream ended before the task did"
            do {
                let response = try await client.openStream(path, lastEventID: lastEventID)
                if brokenSince != nil, let lastEventID { display.resumed(after: lastEventID) }
                var parser = ServerSentEventParser()
                for try await buffer in response.body {
                    // Bytes arrive (an event or a keep-alive): the stream works again.
                    brokenSince = nil
                    backoff = .milliseconds(100)
                    for event in parser.feed(buffer) {
                        if event.name == "error" {
                            // taskd is shutting down (or dropped a slow watcher): resume elsewhere.
                            reason = Self.description(in: event.data) ?? "taskd ended the stream"
                            continue
                        }
                        guard let fields = try? JSONOutput.object(Data(event.data.utf8)) else { continue }
                        let task = NativeTask(fields)
                        if let id = event.id { lastEventID = id }
                        if task.isTerminal || opsReadAt.map({ ContinuousClock.now - $0 >= Self.opsInterval }) ?? true {
                            // Best effort: the event itself is what matters; a failed read keeps the last ops.
                            if let fresh = try? await OpState.fetch(client, taskID: task.id) { ops = fresh }
                            opsReadAt = .now
                        }
                        display.show(event, task: task, ops: ops)
                        if task.isTerminal {
                            display.finish(task)
                            return task.exitStatus
                        }
                    }
                }
            } catch let failure as TaskctlFailure where failure.status == .unreachable || failure.status == .unavailable {
                reason = failure.message.replacingOccurrences(of: "taskctl: ", with: "")
            } catch let failure as TaskctlFailure {
                throw failure  // 401, 403, 404: asking again will not help
            } catch {
                reason = TaskdClient.reason(error)
            }
            let now = ContinuousClock.now
            let since = brokenSince ?? now
            brokenSince = since
            guard now - since < reconnectFor else {
                display.giveUp()
                throw TaskctlFailure(.connectionLost, "taskctl: lost the event stream of task \(taskID) and could not resume it for \(reconnectFor.components.seconds) s: \(reason)"
                                     + (lastEventID.map { " (last event \($0))" } ?? ""))
            }
            display.broken(reason, retryingIn: backoff)
            try await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(2))
        }
    }

    static func description(in data: String) -> String? {
        (try? JSONOutput.object(Data(data.utf8)))?["description"] as? String
    }
}
