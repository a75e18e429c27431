import ArgumentParser
import Foundation

/// `taskctl submit COMMANDTYPE [...]`: POST /v1/tasks. Prints the new task's id (text), so
/// `id=$(taskctl submit backup)` works, or the task (`--output json`); `--watch` then watches it.
struct SubmitCommand: TaskdCommand {
    static let configuration = CommandConfiguration(commandName: "submit", abstract: "Create a task (operator, admin).")

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "The task's commandType, e.g. backup.") var commandType: String
    @Option(help: "What the task is for (shown as taskDescription).") var description: String?
    @Option(help: "The object it acts on, e.g. bdb:1.") var objectName: String?
    @Option(help: "The node it acts on.") var nodeUid: String?
    @Option(name: .customLong("op"), help: "A sub-operation id (e.g. a shard id); repeat for each.") var ops: [String] = []
    @Option(help: "Parameters for the worker, as JSON.") var params: String?
    @Option(help: "task or state-machine.") var kind: String?
    @Option(help: "Attempts allowed (retries after retryable failures).") var maxAttempts: Int?
    @Option(help: "-1000…1000; higher runs first.") var priority: Int?
    @Option(help: "Start no earlier than this ISO-8601 time.") var runAt: String?
    @Option(help: "Seconds the finished task is kept.") var resultTtl: Int?
    @Option(help: "Refuse (409) while an unfinished task holds this key.") var uniqueKey: String?
    @Option(help: "Idempotency-Key: a retried submit returns the first task.") var idempotencyKey: String?
    @Option(name: .shortAndLong, help: "text (the id) or json (the task).") var output: OutputFormat = .text
    @Flag(help: "Watch the task after creating it (exit codes as `watch`).") var watch = false

    func execute(_ client: TaskdClient) async throws -> ExitStatus {
        var body: [String: Any] = ["commandType": commandType]
        if let description { body["description"] = description }
        if let objectName { body["objectName"] = objectName }
        if let nodeUid { body["nodeUid"] = nodeUid }
        if !ops.isEmpty { body["ops"] = ops }
        if let params {
            guard let value = try? JSONSerialization.jsonObject(with: Data(params.utf8), options: [.fragmentsAllowed]) else {
                throw TaskctlFailure(.usage, "taskctl: --params must be JSON, e.g. '{\"bdb\":1}'")
            }
            body["params"] = value
        }
        if let kind { body["kind"] = kind }
        if let maxAttempts { body["maxAttempts"] = maxAttempts }
        if let priority { body["priority"] = priority }
        if let runAt { body["runAt"] = runAt }
        if let resultTtl { body["resultTtl"] = resultTtl }
        if let uniqueKey { body["uniqueKey"] = uniqueKey }
        let answer = try await client.json(.POST, "/v1/tasks", json: try JSONSerialization.data(withJSONObject: body),
                                           headers: idempotencyKey.map { [("Idempotency-Key", $0)] } ?? [])
        let task = try JSONOutput.object(answer.body)
        switch output {
        case .json: try JSONOutput.print(task)
        case .text: Terminal.standardOutput(NativeTask(task).id)
        }
        guard watch else { return .success }
        return try await TaskWatch(client: client, taskID: NativeTask(task).id, display: .forStandardOutput(plain: false)).run()
    }
}
