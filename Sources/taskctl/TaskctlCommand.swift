import ArgumentParser
import Foundation

/// The `taskctl` command: its subcommands, each a file under Commands/.
struct TaskctlCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "taskctl",
        abstract: "Submit, list, watch and steer taskd's tasks over its HTTP API.",
        discussion: """
            Configuration: TASKD_URL (default http://127.0.0.1:8080) and TASKD_CREDENTIAL (key:secret), \
            or --url and --credential. Exit codes: 0 success (watch: completed), 1 other error, \
            2 watch: failed or dismissed, 3 watch: cancelled, 4 watch: the stream could not be resumed, \
            5 taskd unreachable, 6 401, 7 403, 8 404, 9 409, 10 429, 11 503, 12 another 4xx, 64 usage.
            """,
        subcommands: [
            SubmitCommand.self, ListCommand.self, GetCommand.self, WatchCommand.self, CancelCommand.self,
            DismissCommand.self, DeleteCommand.self, KeysCommand.self, RedisCommand.self,
        ])

    /// Parses the command line and runs the subcommand it names. (ArgumentParser's own async
    /// `main()` is not chosen on Linux without platform availability, so the dispatch is spelled out.)
    static func start() async {
        do {
            var command = try parseAsRoot()
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

/// Where taskd is and who is asking; every subcommand takes these.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "taskd's base URL (default: TASKD_URL, else http://127.0.0.1:8080).")
    var url: String = ProcessInfo.processInfo.environment["TASKD_URL"] ?? "http://127.0.0.1:8080"

    /// Empty: none (the request goes without credentials).
    @Option(help: ArgumentHelp("key:secret (default: TASKD_CREDENTIAL). Prefer the variable: arguments show in ps.", valueName: "key:secret"))
    var credential: String = ProcessInfo.processInfo.environment["TASKD_CREDENTIAL"] ?? ""

    @Flag(help: "Each request and its answer's status on standard error (never the secret).")
    var verbose = false
}

/// How results are shown: for people, or JSON for scripts.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// A subcommand that talks to taskd: `execute` does the work; failures print one line and end the
/// process with their exit status.
protocol TaskdCommand: AsyncParsableCommand {
    var connection: ConnectionOptions { get }
    func execute(_ client: TaskdClient) async throws -> ExitStatus
}

extension TaskdCommand {
    func run() async throws {
        let status: ExitStatus
        do {
            status = try await TaskdClient.with(connection) { try await execute($0) }
        } catch let failure as TaskctlFailure {
            Terminal.standardError(failure.message)
            throw failure.status.exitCode
        }
        if status != .success { throw status.exitCode }
    }
}
