import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import RESP
import RedisClient
import TestSupport
import Testing

/// The rule sets of `Docker/redis-acl/`, read from the repository: no rule is spelled in this file.
enum ACLRuleSet: String, CaseIterable, Sendable, CustomTestStringConvertible {
    /// `taskd.acl` alone: no CONFIG; the operator sets notify-keyspace-events.
    case strict
    /// `taskd.acl` + `taskd-config-set.acl`: taskd may turn keyspace notifications on itself.
    case configSet

    var files: [String] { self == .strict ? ["taskd.acl"] : ["taskd.acl", "taskd-config-set.acl"] }
    var testDescription: String { files.joined(separator: " + ") }

    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Docker/redis-acl")

    /// The rules as `ACL SETUSER` takes them: comments dropped, split at white space.
    func rules() throws -> [String] {
        try files.flatMap { name in
            try String(contentsOf: Self.directory.appendingPathComponent(name), encoding: .utf8)
                .split(separator: "\n")
                .flatMap { $0.prefix(while: { $0 != "#" }).split(whereSeparator: \.isWhitespace).map(String.init) }
        }
    }

    /// The commands the rules allow, lowercased as Redis spells them (`config|get`).
    func allowedCommands() throws -> Set<String> {
        Set(try rules().filter { $0.hasPrefix("+") && !$0.hasPrefix("+@") }.map { $0.dropFirst().lowercased() })
    }
}

/// A redis-server of the test's own with ACL users only: `default` is off, the test talks as `admin`,
/// and `taskd` gets exactly the rules of a rule set, installed with `ACL SETUSER` as README.md says.
struct ACLRedis {
    static let taskdPassword = "acl:pw@/\(UUID().uuidString.prefix(8))"
    let server: RedisServerProcess
    let adminURL: String
    /// `redis://taskd:<percent-encoded password>@127.0.0.1:<port>`, what TASKD_REDIS_URL carries.
    let taskdURL: String

    init(_ ruleSet: ACLRuleSet, notifyKeyspaceEvents: String?) async throws {
        let adminPassword = "acl-admin-\(UUID().uuidString.prefix(8))"
        TestSecrets.record(adminPassword)
        TestSecrets.record(Self.taskdPassword)
        var arguments = ["--user", "admin", "on", ">" + adminPassword, "~*", "&*", "+@all", "--user", "default", "off"]
        if let notifyKeyspaceEvents { arguments += ["--notify-keyspace-events", notifyKeyspaceEvents] }
        server = try RedisServerProcess(arguments: arguments)
        adminURL = "redis://admin:\(adminPassword)@127.0.0.1:\(server.port)"
        let encoded = Self.taskdPassword.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-")))!
        taskdURL = "redis://taskd:\(encoded)@127.0.0.1:\(server.port)"
        let rules = try ruleSet.rules()
        try await withClient(url: adminURL) { admin in
            let reply = try await admin.send(RedisCommand("ACL", ["SETUSER", "taskd", "reset", "on", .string(">" + Self.taskdPassword)] + rules.map { .string($0) }))
            #expect(reply.string == "OK")
        }
    }

    /// What Redis refused `taskd` (`ACL LOG`: commands, keys and channels, inside Lua scripts too).
    func refusals() async throws -> [[String: String]] {
        try await withClient(url: adminURL) { admin in
            let reply = try await admin.send(RedisCommand("ACL", ["LOG", "128"]))
            return (reply.array ?? []).map { entry in
                let items = entry.array ?? []
                var fields: [String: String] = [:]
                for index in stride(from: 0, to: items.count - 1, by: 2) {
                    if let name = items[index].string { fields[name] = items[index + 1].string ?? items[index + 1].int.map(String.init) ?? "" }
                }
                return fields
            }.filter { $0["username"] == "taskd" }
        }
    }

    /// `CLIENT LIST` lines of every connection but the asking admin's and those that have sent nothing
    /// yet (a connection is `default`'s until its AUTH, and the admin client opens several).
    func clients() async throws -> [String] {
        try await withClient(url: adminURL) { admin in
            let list = try await admin.send(RedisCommand("CLIENT", ["LIST"])).string ?? ""
            return list.split(separator: "\n").map(String.init).filter { !$0.contains(" user=admin ") && !$0.contains(" cmd=NULL ") }
        }
    }

    func notifyKeyspaceEvents() async throws -> String {
        try await withClient(url: adminURL) { admin in
            try await admin.send(RedisCommand("CONFIG", ["GET", "notify-keyspace-events"])).array?.last?.string ?? ""
        }
    }
}

/// The real taskd binary, connected as `taskd`, its log (info and up) in a file.
final class TaskdAsACLUser: @unchecked Sendable {
    let admin = ("acl-admin", "acl-admin-secret-\(UUID().uuidString.prefix(8))")
    private let process: TaskdProcess

    init(redisURL: String) throws {
        // The rules are written for the default prefix; two shards, so every per-shard path runs.
        process = try TaskdProcess(redisURL: redisURL, prefix: "taskd", admin: admin,
                                   settings: ["TASKD_SHARDS": "2", "TASKD_LOG_LEVEL": "info"])
    }

    var port: Int { process.port }
    var logPath: String { process.logPath }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Log lines that say Redis refused something, and every warning or worse but the strict user's
    /// expected note that it cannot read notify-keyspace-events.
    var complaints: [String] {
        log.split(separator: "\n").map(String.init).filter { line in
            let level = line.split(separator: " ").dropFirst().first ?? ""
            return line.contains("NOPERM") || line.contains("no permissions") || line.contains("can't run this command")
                || (["warning", "error", "critical"].contains(level) && !line.contains("may not read notify-keyspace-events"))
        }
    }

    /// SIGKILL: a child of the test process inherits its blocked signal mask (SIGTERM included).
    func stop() async {
        await process.stop()
    }
}

/// HTTP to a taskd process with one credential: a connection per request (NIO, not URLSession,
/// whose Linux version can lose a reply among concurrent requests).
struct ACLHTTP: Sendable {
    let port: Int
    let authorization: String

    init(port: Int, key: String, secret: String) {
        self.port = port
        authorization = "Basic " + Data("\(key):\(secret)".utf8).base64EncodedString()
        TestSecrets.recordAuthorization(authorization)
    }

    /// One request on a connection of its own, answered within `limit` or failed. Cancelled or out of
    /// time, the connection is closed, which also ends a watch that taskd would keep open.
    func raw(_ method: String, _ path: String, _ body: String? = nil, headers: [String: String] = [:],
             limit: Duration = .seconds(90)) async throws -> (status: Int, body: ByteBuffer) {
        var fields: HTTPFields = [.authorization: authorization, .contentType: "application/json"]
        for (name, value) in headers { fields[HTTPField.Name(name)!] = value }
        let request = TestClient.Request(path, method: HTTPRequest.Method(method)!, headers: fields, body: body.map { ByteBuffer(string: $0) })
        let client = TestClient(host: "127.0.0.1", port: port, configuration: .init(timeout: limit + .seconds(60)))
        client.connect()
        let hangUp: @Sendable () -> Void = { client.channelPromise.futureResult.whenSuccess { $0.close(promise: nil) } }
        defer { hangUp() }
        let response = try await withTaskCancellationHandler {
            try await withThrowingTaskGroup(of: TestClient.Response?.self) { group in
                group.addTask { try await client.execute(request) }
                group.addTask {
                    try? await Task.sleep(for: limit)
                    return nil
                }
                let first = try await group.next() ?? nil
                hangUp()
                group.cancelAll()
                return first
            }
        } onCancel: {
            hangUp()
        }
        guard let response else { throw TestSetupError("\(method) \(path): no answer within \(limit)") }
        return (Int(response.status.code), response.body ?? ByteBuffer())
    }

    func json(_ method: String, _ path: String, _ body: String? = nil, headers: [String: String] = [:]) async throws -> (status: Int, json: [String: Any]) {
        let (status, buffer) = try await raw(method, path, body, headers: headers)
        return (status, Self.object(buffer))
    }

    static func object(_ buffer: ByteBuffer) -> [String: Any] {
        let object = (try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))) as? [String: Any] ?? [:]
        TestSecrets.recordSecrets(in: object)
        return object
    }
}

/// taskd as a least-privilege Redis user (README.md, "Redis user for taskd (ACL)"). Redis's own
/// `ACL LOG` is the judge: it records every command, key and channel refused to the user, those of
/// the Lua scripts included, whichever connection asked and whether or not taskd logged it.
@Suite(.tags(.processes)) struct ACLUserTests {
    /// Every API path that reaches Redis, over HTTP, as `taskd`: keys, create (idempotent, unique),
    /// blocking claim, heartbeat, long-poll, SSE, complete, listing, dialect reads with X-Result-TTL,
    /// fail, dismiss, cancel queued and leased, acknowledge, delete.
    @Test(arguments: ACLRuleSet.allCases)
    func taskdRunsAsTheUser(_ ruleSet: ACLRuleSet) async throws {
        // The strict user cannot turn notifications on: the operator did. The other one must.
        let redis = try await ACLRedis(ruleSet, notifyKeyspaceEvents: ruleSet == .strict ? "Kt" : nil)
        try await withTaskd(on: redis) { taskd in
            let admin = ACLHTTP(port: taskd.port, key: taskd.admin.0, secret: taskd.admin.1)
            let started = try await eventually(timeout: .seconds(60)) { try await admin.raw("GET", "/v1/tasks").status == 200 }
            try #require(started, "taskd did not come up as the ACL user; its log:\n\(taskd.log)")

            try await driveEverything(admin)

            // Keyspace notifications reached taskd under the ACL (the PSUBSCRIBE pattern is allowed):
            // the strict user cannot read the setting, so only an arriving notification clears the note.
            let healthy = try await eventually(timeout: .seconds(30)) {
                let (status, health) = try await admin.json("GET", "/health/ready")
                return status == 200 && health["status"] as? String == "ok" && health["problems"] == nil
            }
            let health = try await admin.json("GET", "/health/ready").json
            #expect(healthy, "\(health)")
            let flags = try await redis.notifyKeyspaceEvents()
            #expect(flags.contains("K") && (flags.contains("t") || flags.contains("A")), "notify-keyspace-events is \(flags)")

            try await expectNothingElseRefused(redis, taskd, ruleSet)
        }
    }

    /// The strict user on a server without keyspace notifications: taskd works (watchers poll) and
    /// /health/ready says what the operator must configure, without a refusal in taskd's log.
    @Test func strictUserWithoutNotificationsIsExplained() async throws {
        let redis = try await ACLRedis(.strict, notifyKeyspaceEvents: nil)
        try await withTaskd(on: redis) { taskd in
            let admin = ACLHTTP(port: taskd.port, key: taskd.admin.0, secret: taskd.admin.1)
            let started = try await eventually(timeout: .seconds(60)) { try await admin.raw("GET", "/v1/tasks").status == 200 }
            try #require(started, "taskd did not come up as the ACL user; its log:\n\(taskd.log)")

            let (created, task) = try await admin.json("POST", "/v1/tasks", #"{"commandType":"acl-unnotified"}"#)
            #expect(created == 202)
            let id = try #require(task["taskId"] as? String)
            async let watched = admin.raw("GET", "/v1/tasks/\(id)/events")
            let (claimed, lease) = try await admin.json("POST", "/v1/workers/claim", #"{"workerId":"w","commandTypes":["acl-unnotified"]}"#)
            #expect(claimed == 200)
            let token = try #require(lease["leaseToken"] as? String)
            #expect(try await admin.json("POST", "/v1/tasks/\(id)/complete", #"{"leaseToken":"\#(token)"}"#).status == 200)
            // Without notifications the watcher still learns of the end, by its periodic look.
            let watchedBody = try await watched.body
            let events = sseEvents(watchedBody)
            #expect(events.last?.data["lifecycleStatus"] as? String == "completed")

            // Ready (serving works), with the reason watchers are slow and what to set.
            let explained = try await eventually(timeout: .seconds(30)) {
                let (status, health) = try await admin.json("GET", "/health/ready")
                let problems = health["problems"] as? [String] ?? []
                return status == 200 && health["status"] as? String == "ok"
                    && problems.contains { $0.contains("notify-keyspace-events") && $0.contains("Kt") && $0.contains("CONFIG GET") }
            }
            let health = try await admin.json("GET", "/health/ready").json
            #expect(explained, "\(health)")
            #expect(try await redis.notifyKeyspaceEvents() == "", "taskd must not have changed the setting")
            // Events written in two probe intervals and no notification heard: the replica's probe
            // notices (NotificationWatch).
            for _ in 0..<3 {
                try await Task.sleep(for: .milliseconds(1500))
                #expect(try await admin.json("POST", "/v1/tasks", #"{"commandType":"acl-unnotified"}"#).status == 202)
            }
            let noticed = try await eventually(timeout: .seconds(15)) { taskd.log.contains("keyspace notifications stopped arriving") }
            #expect(noticed, "taskd's log:\n\(taskd.log)")

            try await expectNothingElseRefused(redis, taskd, .strict, notificationsOff: true)
        }
    }

    /// What the user may not do, asked on a connection of its own: server-wide commands, keys
    /// outside the prefix, other channels, and the same through a script it loaded itself.
    @Test(arguments: ACLRuleSet.allCases)
    func userIsRefusedTheRest(_ ruleSet: ACLRuleSet) async throws {
        let redis = try await ACLRedis(ruleSet, notifyKeyspaceEvents: nil)
        let configuration = try RedisConfiguration(url: redis.taskdURL)
        let connection = try await RedisConnection.connect(to: configuration.endpoints[0], configuration: configuration)
        defer { connection.close() }
        func reply(_ arguments: [RESPArgument]) async throws -> RESPValue {
            guard case .string(let name) = arguments.first else { return .null }
            return try await connection.send(RedisCommand(name, Array(arguments.dropFirst())), timeout: nil)
        }

        // Logged in as taskd, whose own keys are its own.
        #expect(try await reply(["HSET", "taskd:{taskd:0}:acl-probe", "f", "v"]).int == 1)
        #expect(try await reply(["DEL", "taskd:{taskd:0}:acl-probe"]).int == 1)

        var refused: [[RESPArgument]] = [
            ["FLUSHALL"], ["FLUSHDB"], ["FLUSHALL", "ASYNC"], ["FUNCTION", "FLUSH"], ["FUNCTION", "DELETE", "lib"],
            ["KEYS", "*"], ["SCAN", "0"], ["RANDOMKEY"],
            ["SCRIPT", "FLUSH"], ["SCRIPT", "KILL"], ["ACL", "SETUSER", "taskd", "+@all"],
            ["ACL", "LIST"], ["CLIENT", "KILL", "TYPE", "normal"], ["CLIENT", "LIST"], ["BGSAVE"], ["SAVE"], ["REPLICAOF", "NO", "ONE"],
            ["MIGRATE", "127.0.0.1", "1", "taskd:{taskd:0}:x", "0", "1"], ["CLUSTER", "RESET"], ["CLUSTER", "FORGET", "x"],
            ["PUBLISH", "__keyspace@0__:taskd:{taskd:0}:events", "forged"], ["PSUBSCRIBE", "__keyspace@0__:*"],
            ["SUBSCRIBE", "news"], ["GET", "other"], ["SET", "other", "v"], ["HGETALL", "taskd"],
            // Another prefix that starts with "taskd:" is another deployment's.
            ["HGETALL", "taskd:staging:{taskd:staging:0}:task:x"], ["DEL", "taskd:{other:0}:x"],
            ["RENAME", "taskd:{taskd:0}:index:updated", "other"], ["EXPIRE", "taskd:{taskd:0}:leases", "1"],
        ]
        if ruleSet == .strict {
            refused += [["CONFIG", "GET", "requirepass"], ["CONFIG", "GET", "notify-keyspace-events"],
                        ["CONFIG", "SET", "notify-keyspace-events", "KEA"], ["CONFIG", "SET", "maxmemory", "1"]]
        }
        for command in refused {
            let answer = try await reply(command)
            #expect(answer.errorMessage?.hasPrefix("NOPERM") == true, "\(command) answered \(answer)")
        }

        // Commands that must not run even if allowed, or that Redis refuses for another reason first
        // (DEBUG is off by default): asked of the ACL alone.
        try await withClient(url: redis.adminURL) { admin in
            for command in [["DEBUG", "SLEEP", "0"], ["SHUTDOWN", "NOSAVE"], ["MONITOR"], ["FAILOVER"], ["SWAPDB", "0", "1"]] {
                let answer = try await admin.send(RedisCommand("ACL", ["DRYRUN", "taskd"] + command.map { .string($0) })).string ?? ""
                #expect(answer.contains("no permissions"), "ACL DRYRUN taskd \(command) answered \(answer)")
            }
        }

        // SCRIPT LOAD and EVAL take any script, but it runs with taskd's ACL all the same.
        func refusedInside(_ answer: RESPValue) -> Bool {
            answer.errorMessage.map { $0.contains("NOPERM") || $0.contains("can't run this command") || $0.contains("can't access") } == true
        }
        for source in ["return redis.call('FLUSHALL')", "return redis.call('GET', 'other')", "return redis.call('KEYS', '*')"] {
            let sha = try #require(try await reply(["SCRIPT", "LOAD", .string(source)]).string)
            let byHash = try await reply(["EVALSHA", .string(sha), "0"])
            #expect(refusedInside(byHash), "EVALSHA of \(source) answered \(byHash)")
            let bySource = try await reply(["EVAL", .string(source), "0"])
            #expect(refusedInside(bySource), "EVAL of \(source) answered \(bySource)")
        }
        connection.close()
        await redis.server.stop()
    }

    /// Every command the code sends is in the rules: each `redis.call` of the scripts (only some of their
    /// branches run in a test) and each command Sources/ spells. Those the list below names are sent
    /// only by client features taskd does not use.
    @Test func everyCommandInTheCodeIsAllowed() throws {
        let allowed = try ACLRuleSet.strict.allowedCommands()
        let root = ACLRuleSet.directory.deletingLastPathComponent().deletingLastPathComponent()
        let notNeeded: Set<String> = [
            "auth",  // allowed to every user before it is one
            "client|setname", "subscribe", "unsubscribe",  // no client name, no plain channels in taskd
            "get", "set", "publish",  // RedisCommand helpers, used by tests only
            "config|get", "config|set",  // taskd-config-set.acl, and KeyspaceNotifications copes without
            "sentinel",  // SENTINEL get-master-addr-by-name goes to the sentinels, not to the data nodes
        ]

        var luaCommands: Set<String> = []
        // redis.call('HSET', …), and the argument tables handed to redis.call(unpack(…)): {'HMGET', key, …}.
        let call = try Regex(#"(?:redis\.p?call\(\s*|\{\s*)'([A-Z]+)'"#)
        for file in try files(under: root.appendingPathComponent("Lua"), ending: ".lua") {
            for match in try String(contentsOf: file, encoding: .utf8).matches(of: call) {
                luaCommands.insert(String(match.output[1].substring ?? "").lowercased())
            }
        }
        #expect(luaCommands.isSuperset(of: ["hset", "hmget", "xadd", "zadd"]), "the scan found the scripts' commands: \(luaCommands.sorted())")
        #expect(luaCommands.subtracting(allowed).isEmpty, "Lua/ runs \(luaCommands.subtracting(allowed).sorted()), which taskd.acl does not allow")

        var swiftCommands: Set<String> = []
        let command = try Regex(#"(?:RedisCommand|\.init|writeRESPCommand|write)\(\s*\[?"([A-Z]+)"(?:\s*,\s*\[\s*"([A-Z]+)")?"#)
        let containers: Set<String> = ["config", "script", "xinfo", "cluster", "client", "function", "acl"]
        for file in try files(under: root.appendingPathComponent("Sources"), ending: ".swift") {
            for match in try String(contentsOf: file, encoding: .utf8).matches(of: command) {
                let name = String(match.output[1].substring ?? "").lowercased()
                let sub = match.output[2].substring.map { String($0).lowercased() }
                swiftCommands.insert(containers.contains(name) ? name + "|" + (sub ?? "?") : name)
            }
        }
        #expect(swiftCommands.isSuperset(of: ["evalsha", "script|load", "xread", "psubscribe", "cluster|slots"]), "the scan found the commands: \(swiftCommands.sorted())")
        let missing = swiftCommands.subtracting(allowed).subtracting(notNeeded)
        #expect(missing.isEmpty, "Sources/ sends \(missing.sorted()), which taskd.acl does not allow")
    }

    /// Runs taskd as the user for the duration of `body`; stops it and the server after, also on failure.
    private func withTaskd(on redis: ACLRedis, _ body: (TaskdAsACLUser) async throws -> Void) async throws {
        let taskd = try TaskdAsACLUser(redisURL: redis.taskdURL)
        do {
            try await body(taskd)
        } catch {
            // Say why: what Redis refused taskd is the likeliest cause.
            let refused = (try? await redis.refusals()) ?? []
            Issue.record("stopped early; Redis refused taskd: \(refused.map(Self.summary)); taskd's log:\n\(taskd.log)")
            await taskd.stop()
            await redis.server.stop()
            throw error
        }
        await taskd.stop()
        await redis.server.stop()
    }

    private func files(under directory: URL, ending suffix: String) throws -> [URL] {
        guard let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil) else { return [] }
        return walker.compactMap { $0 as? URL }.filter { $0.path.hasSuffix(suffix) }
    }

    /// After a run: Redis refused `taskd` nothing (the strict user's one CONFIG GET at start aside,
    /// which taskd turns into the /health/ready note), taskd logged no refusal or error, and every
    /// connection but the test's is `taskd`'s, the keyspace subscription among them.
    /// `notificationsOff`: the server publishes no notifications, so taskd's warning that they stopped
    /// arriving is expected.
    private func expectNothingElseRefused(_ redis: ACLRedis, _ taskd: TaskdAsACLUser, _ ruleSet: ACLRuleSet,
                                          notificationsOff: Bool = false) async throws {
        let refusals = try await redis.refusals().filter { !(ruleSet == .strict && $0["reason"] == "command" && $0["object"] == "config|get") }
        #expect(refusals.isEmpty, "Redis refused taskd: \(refusals.map(Self.summary)) — the rule set misses these")
        let complaints = taskd.complaints.filter { !(notificationsOff && $0.contains("keyspace notifications stopped arriving")) }
        #expect(complaints.isEmpty, "taskd's log:\n\(complaints.joined(separator: "\n"))")
        let clients = try await redis.clients()
        #expect(!clients.isEmpty && clients.allSatisfy { $0.contains(" user=taskd ") }, "\(clients)")
        #expect(clients.contains { $0.contains(" psub=1 ") && $0.contains(" user=taskd ") }, "taskd's keyspace subscription: \(clients)")
    }

    /// An `ACL LOG` entry in short: `command zpopmin (lua)`, `channel __keyspace@0__:* (toplevel)`.
    private static func summary(_ entry: [String: String]) -> String {
        "\(entry["reason"] ?? "?") \(entry["object"] ?? "?") (\(entry["context"] ?? "?"))"
    }

    private func driveEverything(_ admin: ACLHTTP) async throws {
        // API keys: create (HSET, SADD), list (SMEMBERS, HMGET), use (HMGET), delete (DEL, SREM).
        let (madeWorker, workerKey) = try await admin.json("POST", "/v1/apikeys", #"{"role":"worker","name":"acl worker"}"#)
        #expect(madeWorker == 201)
        let worker = ACLHTTP(port: admin.port, key: try #require(workerKey["key"] as? String), secret: try #require(workerKey["secret"] as? String))
        let (madeSpare, spare) = try await admin.json("POST", "/v1/apikeys", #"{"role":"viewer","name":"acl spare"}"#)
        #expect(madeSpare == 201)
        let listedKeys = try await admin.json("GET", "/v1/apikeys").json["apikeys"] as? [[String: Any]] ?? []
        #expect(listedKeys.count == 3)
        #expect(try await admin.raw("DELETE", "/v1/apikeys/\(try #require(spare["key"] as? String))").status == 204)

        // A claim that waits (the ready-task watcher's XREAD BLOCK wakes it), then the task it gets.
        async let waitingClaim = worker.raw("POST", "/v1/workers/claim", #"{"workerId":"w1","commandTypes":["acl-backup"],"waitSeconds":30}"#)
        let createBody = #"{"commandType":"acl-backup","objectName":"bdb:acl","uniqueKey":"acl-once","ops":["1"],"params":{"a":1}}"#
        let (created, task) = try await admin.json("POST", "/v1/tasks", createBody, headers: ["Idempotency-Key": "acl-create-1"])
        #expect(created == 202)
        let id = try #require(task["taskId"] as? String)
        #expect(try await admin.json("POST", "/v1/tasks", createBody, headers: ["Idempotency-Key": "acl-create-1"]).json["taskId"] as? String == id, "replayed")
        let (claimed, claimBody) = try await waitingClaim
        let lease = ACLHTTP.object(claimBody)
        #expect(claimed == 200)
        #expect(lease["taskId"] as? String == id)
        let token = try #require(lease["leaseToken"] as? String)

        // Watchers from here on: SSE to the end, and a long-poll on version 2. The pause only makes it
        // likely that they wait for the heartbeat live; history covers whatever comes before.
        async let watched = admin.raw("GET", "/v1/tasks/\(id)/events")
        async let longPoll = admin.raw("GET", "/v1/tasks/\(id)", headers: ["If-None-Match": "\"2\"", "Prefer": "wait=30"])
        try await Task.sleep(for: .milliseconds(200))
        #expect(try await worker.json("POST", "/v1/tasks/\(id)/heartbeat", #"{"leaseToken":"\#(token)","progress":50,"state":"halfway"}"#).status == 200)
        let polled = try await longPoll
        #expect(polled.status == 200, "the long-poll answers the change")
        #expect(try await worker.json("POST", "/v1/tasks/\(id)/complete", #"{"leaseToken":"\#(token)","response":{"ok":true}}"#).status == 200)
        let watchedBody = try await watched.body
        let events = sseEvents(watchedBody)
        #expect(events.first?.event == "created")
        #expect(events.last?.data["lifecycleStatus"] as? String == "completed")
        #expect(events.compactMap { $0.data["version"] as? Int } == [1, 2, 3, 4], "\(events.map(\.event))")
        // Resuming checks whether history was trimmed (XINFO STREAM).
        let resumeAfter = try #require(events.first?.id)
        let resumed = sseEvents(try await admin.raw("GET", "/v1/tasks/\(id)/events", headers: ["Last-Event-ID": resumeAfter]).body)
        #expect(resumed.count == 3)

        // Listing: by update time, by commandType, by objectName (lexicographic index); the dialects.
        for path in ["/v1/tasks", "/v1/tasks?commandType=acl-backup", "/v1/tasks?objectName=bdb:acl", "/v1/tasks?status=completed"] {
            let listed = try await admin.json("GET", path).json["tasks"] as? [[String: Any]] ?? []
            #expect(listed.contains { $0["taskId"] as? String == id }, "\(path)")
        }
        #expect(try await admin.raw("GET", "/v1/crdb_tasks/\(id)", headers: ["X-Result-TTL": "600"]).status == 200)
        #expect(try await admin.raw("GET", "/v1/actions").status == 200)
        #expect(try await admin.raw("GET", "/kapi/actions").status == 200)

        // Fail for good, then dismiss; fail with a retry left (back to the queue, delayed).
        let failing = try await createAndClaim(admin, worker, #"{"commandType":"acl-fail"}"#)
        #expect(try await worker.json("POST", "/v1/tasks/\(failing.id)/fail", #"{"leaseToken":"\#(failing.token)","errorCode":"E","retryable":false}"#).json["lifecycleStatus"] as? String == "failed")
        #expect(try await admin.raw("POST", "/v1/tasks/\(failing.id)/dismiss").status == 204)
        let retrying = try await createAndClaim(admin, worker, #"{"commandType":"acl-retry","maxAttempts":3}"#)
        #expect(try await worker.json("POST", "/v1/tasks/\(retrying.id)/fail", #"{"leaseToken":"\#(retrying.token)","errorMessage":"again"}"#).json["lifecycleStatus"] as? String == "queued")

        // Cancel a queued task (cancel reads commandType first: HGET), then a leased one, acknowledged.
        let (_, queued) = try await admin.json("POST", "/v1/tasks", #"{"commandType":"acl-cancel-queued","runAt":"2099-01-01T00:00:00Z"}"#)
        let queuedId = try #require(queued["taskId"] as? String)
        #expect(try await admin.raw("POST", "/v1/tasks/\(queuedId)/actions/cancel").status == 200)
        let leased = try await createAndClaim(admin, worker, #"{"commandType":"acl-cancel-leased"}"#)
        #expect(try await admin.raw("POST", "/v1/tasks/\(leased.id)/actions/cancel").status == 200)
        #expect(try await worker.json("POST", "/v1/tasks/\(leased.id)/cancelled", #"{"leaseToken":"\#(leased.token)"}"#).status == 200)

        // Delete a finished task.
        #expect(try await admin.raw("DELETE", "/v1/tasks/\(queuedId)").status == 204)
        #expect(try await admin.raw("GET", "/v1/tasks/\(queuedId)").status == 404)
    }

    private func createAndClaim(_ admin: ACLHTTP, _ worker: ACLHTTP, _ body: String) async throws -> (id: String, token: String) {
        let (created, task) = try await admin.json("POST", "/v1/tasks", body)
        #expect(created == 202)
        let id = try #require(task["taskId"] as? String)
        let commandType = try #require(task["commandType"] as? String)
        let (claimed, lease) = try await worker.json("POST", "/v1/workers/claim", #"{"workerId":"w2","commandTypes":["\#(commandType)"],"waitSeconds":10}"#)
        #expect(claimed == 200)
        #expect(lease["taskId"] as? String == id)
        return (id, try #require(lease["leaseToken"] as? String))
    }
}
