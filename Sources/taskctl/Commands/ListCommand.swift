import ArgumentParser
import Foundation

/// `taskctl list`: GET /v1/tasks with its filters and cursor paging, newest update first.
struct ListCommand: TaskdCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List tasks updated in the last 10 days.")

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Only this status: queued, starting, running, impacted, cancelling, completed, failed, cancelled, dismissed.") var status: String?
    @Option(help: "Only this commandType.") var commandType: String?
    @Option(help: "Only tasks on this object, e.g. bdb:1.") var objectName: String?
    @Option(help: "Only task or state-machine.") var kind: String?
    @Option(help: "Tasks per page, 1–1000.") var limit: Int?
    @Option(help: "Continue from a page's next cursor.") var cursor: String?
    @Flag(help: "Follow the cursors to the end (at most --max tasks).") var all = false
    @Option(help: "With --all: stop after this many tasks.") var max = 10_000
    @Option(name: .shortAndLong, help: "text (a table) or json ({\"tasks\": [...], \"nextCursor\": ...}).") var output: OutputFormat = .text

    func execute(_ client: TaskdClient) async throws -> ExitStatus {
        var tasks: [[String: Any]] = []
        var next = cursor
        repeat {
            let answer = try await client.json(.GET, "/v1/tasks", query: [
                ("status", status), ("commandType", commandType), ("objectName", objectName), ("kind", kind),
                ("limit", limit.map(String.init)), ("cursor", next),
            ])
            let page = try JSONOutput.object(answer.body)
            tasks += page["tasks"] as? [[String: Any]] ?? []
            next = page["nextCursor"] as? String
        } while all && next != nil && tasks.count < max
        switch output {
        case .json:
            var result: [String: Any] = ["tasks": tasks]
            if let next { result["nextCursor"] = next }
            try JSONOutput.print(result)
        case .text:
            var table = TextTable(header: ["TASK", "STATUS", "COMMAND", "OBJECT", "PROGRESS", "STATE", "ATTEMPT", "UPDATED"])
            for fields in tasks {
                let task = NativeTask(fields)
                table.rows.append([task.id, task.status, task.commandType, task.objectName ?? "-", NativeTask.percent(task.progress),
                                   task.state ?? "-", String(task.attempt), task.timestamp])
            }
            Terminal.standardOutput(table.render())
            // On standard error, so the table stays the only thing a pipe reads.
            if let next { Terminal.standardError("more: taskctl list --cursor \(next)") }
        }
        return .success
    }
}
