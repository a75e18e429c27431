import ArgumentParser
import Foundation

/// `taskctl redis [ID]`: the redis-cli commands to watch and debug this deployment, with its real
/// key prefix and shard tags, from GET /v1/keyspace (taskd's TaskKeyspace is the only place that
/// spells keys; taskctl only speaks HTTP). The README's "Watch and debug with redis-cli" explains them.
struct RedisCommand: TaskdCommand {
    static let configuration = CommandConfiguration(
        commandName: "redis", abstract: "Print redis-cli commands for this deployment's keys (operator, admin).")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "A task id: its keys, streams, queue and a transition by hand.") var taskID: String?
    @Option(help: "How to start redis-cli for this Redis, e.g. 'redis-cli -h 10.0.0.5 -p 6379 --user admin --askpass'.") var cli = "redis-cli"

    func execute(_ client: TaskdClient) async throws -> ExitStatus {
        let answer = try JSONOutput.object(try await client.json(.GET, "/v1/keyspace", query: [("taskId", taskID)]).body)
        let shards = answer["shards"] as? [[String: Any]] ?? []
        let prefix = answer["prefix"] as? String ?? ""
        var lines = ["# taskd keyspace: prefix \(prefix), \(shards.count) shard\(shards.count == 1 ? "" : "s"); run from the repository root (Lua/)"]
        if let task = answer["task"] as? [String: Any] {
            let number = task["shard"] as? Int ?? 0
            guard let shard = shards.first(where: { $0["shard"] as? Int == number }) else {
                throw TaskctlFailure(.failure, "taskctl: taskd's keyspace answer lacks shard \(number)")
            }
            lines += taskCommands(task, shard: shard)
        } else {
            for shard in shards { lines += shardCommands(shard) }
        }
        Terminal.standardOutput(lines.joined(separator: "\n"))
        return .success
    }

    private func taskCommands(_ task: [String: Any], shard: [String: Any]) -> [String] {
        let id = task["taskId"] as? String ?? ""
        let hash = task["hash"] as? String ?? ""
        let events = task["events"] as? String ?? ""
        let queue = task["queue"] as? String ?? ""
        let commandType = task["commandType"] as? String ?? ""
        let status = task["lifecycleStatus"] as? String ?? ""
        let key = { (name: String) in shard[name] as? String ?? "" }
        var lines = [
            "# Task \(id): shard \(shard["shard"] as? Int ?? 0) (hash tag {\(key("tag"))}), commandType \(commandType), \(status) when this was printed",
            "# Its keys",
            "\(cli) --scan --pattern \(Self.quoted(hash + "*"))",
            "# Its hash: every field (Lua/README.md, \"Task hash fields\")",
            "\(cli) HGETALL \(Self.quoted(hash))",
            "# Its events so far, then new ones as they come",
            "\(cli) XRANGE \(Self.quoted(events)) - +",
            "\(cli) XREAD BLOCK 0 STREAMS \(Self.quoted(events)) '$'",
            "# Every event of its shard, live",
            "\(cli) XREAD BLOCK 0 STREAMS \(Self.quoted(key("events"))) '$'",
            "# Queue depth of \(commandType), its most urgent ready tasks, and the shard's leases (score: ms when the reaper looks)",
            "\(cli) ZCARD \(Self.quoted(queue))",
            "\(cli) ZRANGE \(Self.quoted(queue)) 0 9 WITHSCORES",
            "\(cli) ZRANGE \(Self.quoted(key("leases"))) 0 -1 WITHSCORES",
        ]
        // A transition by hand, with the KEYS and ARGV of the script's header.
        let now = "\"$(date +%s%3N)\""
        if status == "failed" {
            lines += [
                "# Dismiss it by hand (Lua/dismiss-6.lua: KEYS task, events, index:updated, index:finished, idempotency, shard events; ARGV now, \"\", \"\")",
                "\(cli) --eval <(Lua/flatten.sh Lua/dismiss-6.lua) " + [hash, events, key("updatedIndex"), key("finishedIndex"), key("idempotency"), key("events")]
                    .map(Self.quoted).joined(separator: " ") + " , \(now) '' ''",
            ]
        } else {
            lines += [
                "# Cancel it by hand (Lua/cancel-11.lua: KEYS as its header lists them; ARGV now, force \"\", \"\", \"\"); a finished task answers {2, status}",
                "\(cli) --eval <(Lua/flatten.sh Lua/cancel-11.lua) " + [
                    hash, events, queue, key("delayed"), key("leases"), key("activeIndex"), key("updatedIndex"), key("finishedIndex"),
                    key("unique"), key("idempotency"), key("events"),
                ].map(Self.quoted).joined(separator: " ") + " , \(now) '' '' ''",
            ]
        }
        return lines
    }

    private func shardCommands(_ shard: [String: Any]) -> [String] {
        let key = { (name: String) in shard[name] as? String ?? "" }
        return [
            "# Shard \(shard["shard"] as? Int ?? 0) (hash tag {\(key("tag"))}): every event of its tasks, live",
            "\(cli) XREAD BLOCK 0 STREAMS \(Self.quoted(key("events"))) '$'",
            "# Its ready queues (one per commandType; ZCARD one for its depth), delayed tasks and leases",
            "\(cli) --scan --pattern \(Self.quoted(key("queuePattern")))",
            "\(cli) ZCARD \(Self.quoted(key("delayed")))",
            "\(cli) ZRANGE \(Self.quoted(key("leases"))) 0 -1 WITHSCORES",
            "# Its unfinished tasks, oldest first (score: createdAt, ms)",
            "\(cli) ZRANGE \(Self.quoted(key("activeIndex"))) 0 -1 WITHSCORES",
        ]
    }

    /// Single-quoted for a POSIX shell: keys hold braces, and may hold anything the prefix allows.
    static func quoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
