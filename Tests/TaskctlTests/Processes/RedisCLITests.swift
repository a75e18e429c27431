import Foundation
import TestSupport
import Testing

/// The redis-cli commands `taskctl redis` prints work on a real Redis with a real task, and they
/// are the README's ("Watch and debug with redis-cli"): a taskd with the default prefix `taskd`
/// and one shard on a redis-server of the test's own, a queued task, and every command run with
/// bash from the repository root (the transition reads Lua/).
@Suite(.tags(.processes)) struct RedisCLITests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    static func commands(_ output: String) -> [String] {
        output.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") }
    }

    static func bash(_ command: String) throws -> CommandProcess {
        try CommandProcess("/bin/bash", ["-c", "cd '\(root)' && \(command)"])
    }

    @Test func printedCommandsRunAgainstARealTask() async throws {
        let redis = try await RedisServerProcess.started()
        defer { redis.stopNow() }
        let ctl = try await TaskctlFixture.start(redisURL: redis.url, prefix: "taskd", workers: false, settings: ["TASKD_SHARDS": "1"])
        defer { ctl.stopNow() }
        let id = try await ctl.submit(["backup", "--object-name", "bdb:1", "--op", "1", "--op", "2"])
        let cli = "redis-cli -p \(redis.port)"

        let forTask = try await ctl.taskctl(["redis", id, "--cli", cli])
        let forShards = try await ctl.taskctl(["redis", "--cli", cli])
        #expect(forTask.status == 0 && forShards.status == 0, "\(forTask) \(forShards)")
        // The default prefix's shard 0 carries the tag taskd:0.1739 (ShardTag), which nobody guesses.
        #expect(forTask.output.contains("'taskd:{taskd:0.1739}:task:\(id)'"), "\(forTask.output)")
        let commands = Self.commands(forTask.output) + Self.commands(forShards.output)
        #expect(commands.count >= 14, "\(commands)")

        // The README shows the same commands (its task id is that of the run it was copied from).
        let readme = try String(contentsOfFile: Self.root + "/README.md", encoding: .utf8)
        let readmeID = try #require(readme.firstMatch(of: /HGETALL 'taskd:\{taskd:0\.1739\}:task:([0-9a-f-]{36})'/).map { String($0.1) },
                                    "the README's redis-cli section shows HGETALL of a task")
        for command in commands {
            let documented = command.replacingOccurrences(of: cli, with: "redis-cli").replacingOccurrences(of: id, with: readmeID)
            #expect(readme.contains(documented), "README lacks: \(documented)")
        }

        // Reads first, while the task is queued.
        var outputs: [String: String] = [:]
        for command in commands where !command.contains("XREAD BLOCK 0") && !command.contains("--eval") {
            let process = try Self.bash(command)
            let status = await process.exitStatus(within: .seconds(10))
            #expect(status == 0 && process.errors.isEmpty, "\(command): \(process.errors)")
            outputs[command] = process.output
        }
        func output(_ fragment: String) -> String { outputs.first { $0.key.contains(fragment) }?.value ?? "" }
        #expect(output("--scan --pattern 'taskd:{taskd:0.1739}:task:").split(separator: "\n").sorted() == [
            "taskd:{taskd:0.1739}:task:\(id)", "taskd:{taskd:0.1739}:task:\(id):events",
        ])
        #expect(output("HGETALL").contains("status\nqueued\n") && output("HGETALL").contains("commandType\nbackup\n"), "\(output("HGETALL"))")
        #expect(output("XRANGE").contains("kind\ncreated\n"), "\(output("XRANGE"))")
        #expect(output("ZCARD 'taskd:{taskd:0.1739}:queue:backup'") == "1\n")
        #expect(output("ZRANGE 'taskd:{taskd:0.1739}:queue:backup' 0 9").hasPrefix("\(id)\n"))
        #expect(output("--scan --pattern 'taskd:{taskd:0.1739}:queue:*'") == "taskd:{taskd:0.1739}:queue:backup\n")
        #expect(output("ZRANGE 'taskd:{taskd:0.1739}:index:active'").hasPrefix("\(id)\n"))

        // The live reads block until the next event, which the transition by hand makes.
        let blocking = commands.filter { $0.contains("XREAD BLOCK 0") }
        let readers = try blocking.map(Self.bash)
        defer { for reader in readers { Task { await reader.stop() } } }
        let blocked = try await eventually {
            try await CommandResult.run("/usr/bin/redis-cli", ["-p", String(redis.port), "INFO", "clients"]).output.contains("blocked_clients:\(blocking.count)\r")
        }
        #expect(blocked, "every XREAD BLOCK 0 waits")
        let transition = try #require(commands.first { $0.contains("--eval <(Lua/flatten.sh Lua/cancel-11.lua)") })
        let cancel = try Self.bash(transition)
        #expect(await cancel.exitStatus(within: .seconds(10)) == 0 && cancel.output == "0\ncancelled\n2\n1\n\n",
                "\(cancel.output) \(cancel.errors)")
        for (reader, command) in zip(readers, blocking) {
            #expect(await reader.exitStatus(within: .seconds(10)) == 0, "\(command)")
            #expect(reader.output.contains("status\ncancelled\n") && reader.output.contains("reason\ncancel\n"), "\(command): \(reader.output)")
        }
        // taskd sees what the script did.
        #expect(try await ctl.field("lifecycleStatus", of: id) == "cancelled")
    }
}
