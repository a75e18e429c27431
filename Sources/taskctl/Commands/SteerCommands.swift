import ArgumentParser
import Foundation
import NIOHTTP1

/// `taskctl cancel ID [--force]`: POST /v1/tasks/{taskId}/actions/cancel. Prints the status the
/// task is in now (`cancelled`, or `cancelling` until the worker acknowledges).
struct CancelCommand: TaskdCommand {
    static let configuration = CommandConfiguration(commandName: "cancel", abstract: "Cancel a task (operator, admin).")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The task id.") var taskID: String
    @Flag(help: "Cancel even in the worker's commit phase, at once, fencing its lease.") var force = false
    @Option(name: .shortAndLong, help: "text (the status now) or json (the task).") var output: OutputFormat = .text

    func execute(_ client: TaskdClient) async throws -> ExitStatus {
        let path = "/v1/tasks/\(TaskdClient.percentEncoded(taskID))/actions/cancel"
        let task = try JSONOutput.object(try await client.json(.POST, path, query: [("force", force ? "true" : nil)]).body)
        switch output {
        case .json: try JSONOutput.print(task)
        case .text: Terminal.standardOutput("\(NativeTask(task).id) \(NativeTask(task).status)")
        }
        return .success
    }
}

/// `taskctl dismiss ID`: POST /v1/tasks/{taskId}/dismiss (failed → dismissed).
struct DismissCommand: TaskdCommand {
    static let configuration = CommandConfiguration(commandName: "dismiss", abstract: "Dismiss a failed task (operator, admin).")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The task id.") var taskID: String

    func execute(_ client: TaskdClient) async throws -> ExitStatus {
        try await act(client, .POST, "/v1/tasks/\(TaskdClient.percentEncoded(taskID))/dismiss", done: "\(taskID) dismissed")
    }
}

/// `taskctl delete ID`: DELETE /v1/tasks/{taskId} (a finished task's status, removed now).
struct DeleteCommand: TaskdCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a finished task now (operator, admin).")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The task id.") var taskID: String

    func execute(_ client: TaskdClient) async throws -> ExitStatus {
        try await act(client, .DELETE, "/v1/tasks/\(TaskdClient.percentEncoded(taskID))", done: "\(taskID) deleted")
    }
}

/// A call answered 204 (dismiss, delete, keys delete): prints `done` once it succeeded.
func act(_ client: TaskdClient, _ method: HTTPMethod, _ path: String, done: String) async throws -> ExitStatus {
    _ = try await client.json(method, path)
    Terminal.standardOutput(done)
    return .success
}
