import ArgumentParser
import Foundation

/// `taskctl keys create|list|delete`: the API keys (admin).
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Manage API keys (admin).",
        subcommands: [CreateKey.self, ListKeys.self, DeleteKey.self])

    /// `keys create --role R --name N`: prints the new key:secret (text), the only time the secret
    /// is shown, or `{"key", "name", "role", "secret"}` (json).
    struct CreateKey: TaskdCommand {
        static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a key; its secret is shown this once.")

        @OptionGroup var connection: ConnectionOptions
        @Option(help: "viewer, operator, worker or admin.") var role: String
        @Option(help: "What the key is for.") var name: String
        @Option(name: .shortAndLong, help: "text (key:secret) or json.") var output: OutputFormat = .text

        func execute(_ client: TaskdClient) async throws -> ExitStatus {
            let body = try JSONSerialization.data(withJSONObject: ["role": role, "name": name])
            let created = try JSONOutput.object(try await client.json(.POST, "/v1/apikeys", json: body).body)
            switch output {
            case .json: try JSONOutput.print(created)
            case .text: Terminal.standardOutput("\(created["key"] as? String ?? ""):\(created["secret"] as? String ?? "")")
            }
            return .success
        }
    }

    struct ListKeys: TaskdCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List keys (never a secret).")

        @OptionGroup var connection: ConnectionOptions
        @Option(name: .shortAndLong, help: "text (a table) or json.") var output: OutputFormat = .text

        func execute(_ client: TaskdClient) async throws -> ExitStatus {
            let answer = try JSONOutput.object(try await client.json(.GET, "/v1/apikeys").body)
            if output == .json {
                try JSONOutput.print(answer)
                return .success
            }
            var table = TextTable(header: ["KEY", "ROLE", "NAME", "CREATED"])
            for key in answer["apikeys"] as? [[String: Any]] ?? [] {
                table.rows.append(["key", "role", "name", "createdAt"].map { key[$0] as? String ?? "" })
            }
            Terminal.standardOutput(table.render())
            return .success
        }
    }

    struct DeleteKey: TaskdCommand {
        static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a key (not the last admin key).")

        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The key id.") var key: String

        func execute(_ client: TaskdClient) async throws -> ExitStatus {
            try await act(client, .DELETE, "/v1/apikeys/" + TaskdClient.percentEncoded(key), done: "\(key) deleted")
        }
    }
}
