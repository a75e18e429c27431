import ArgumentParser
import Foundation

/// `taskctl get ID`: the task (GET /v1/tasks/{taskId}) with its ops' progress (their states come
/// from the Redis Software view, GET /v1/actions/{uid}: the native representation has no ops).
struct GetCommand: TaskdCommand {
    static let configuration = CommandConfiguration(commandName: "get", abstract: "Show one task.")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The task id.") var taskID: String
    @Option(name: .shortAndLong, help: "text or json (the native representation).") var output: OutputFormat = .text

    func execute(_ client: TaskdClient) async throws -> ExitStatus {
        let path = "/v1/tasks/" + TaskdClient.percentEncoded(taskID)
        let fields = try JSONOutput.object(try await client.json(.GET, path).body)
        if output == .json {
            try JSONOutput.print(fields)
            return .success
        }
        let task = NativeTask(fields)
        var lines: [(String, String)] = [
            ("task", task.id), ("status", task.status), ("commandType", task.commandType), ("progress", NativeTask.percent(task.progress)),
        ]
        if let state = task.state { lines.append(("state", state)) }
        if let text = fields["taskDescription"] as? String { lines.append(("description", text)) }
        if let object = task.objectName { lines.append(("objectName", object)) }
        lines += [("kind", fields["kind"] as? String ?? ""), ("attempt", String(task.attempt)), ("version", String(task.version)),
                  ("updated", task.timestamp), ("cloudStatus", fields["status"] as? String ?? "")]
        if let response = fields["response"] { lines.append(("response", try JSONOutput.compact(response))) }
        for op in try await OpState.fetch(client, taskID: task.id) {
            lines.append(("op \(op.id)", op.summary))
        }
        let width = lines.map(\.0.count).max() ?? 0
        Terminal.standardOutput(lines.map { "\($0.0.padding(toLength: width, withPad: " ", startingAt: 0))  \($0.1)" }.joined(separator: "\n"))
        return .success
    }
}

/// One sub-operation as a worker last reported it (RS `pending_ops`).
struct OpState: Equatable {
    var id: String
    var progress: Double
    var name: String?
    var statusCode: String?

    var summary: String {
        ([NativeTask.percent(progress)] + [name, statusCode].compactMap { $0 }).joined(separator: "  ")
    }

    /// The ops of a task, in id order (numbers numerically): one GET /v1/actions/{uid}.
    static func fetch(_ client: TaskdClient, taskID: String) async throws -> [OpState] {
        let action = try JSONOutput.object(try await client.json(.GET, "/v1/actions/" + TaskdClient.percentEncoded(taskID)).body)
        let ops = action["pending_ops"] as? [String: Any] ?? [:]
        return ops.map { id, value in
            let fields = value as? [String: Any] ?? [:]
            return OpState(id: id, progress: (fields["progress"] as? NSNumber)?.doubleValue ?? 0,
                           name: fields["op_name"] as? String, statusCode: fields["status_code"] as? String)
        }.sorted { a, b in
            if let x = Int(a.id), let y = Int(b.id) { return x < y }
            return a.id < b.id
        }
    }
}

extension JSONOutput {
    /// One line of JSON, keys sorted.
    static func compact(_ value: Any) throws -> String {
        let data = try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed])
        return String(decoding: data, as: UTF8.self)
    }
}
