import Foundation
@testable import TaskAPI
import TaskEngine
import Testing

/// Each dialect's JSON for known tasks, field for field against the seeds' tables and examples
/// (seeds 000/001 RS actions, 002 kAPI, 003 Redis Cloud, 004 CRDB) and DESIGN.md §2's projections.
@Suite struct DialectGoldenTests {
    static let id = "01a205c3-7630-7000-917e-31b5e9ea6dbe"

    /// A running backup with one op, as a worker would have left it.
    static func task(_ status: TaskStatus, kind: TaskKind = .task) -> TaskRecord {
        var task = TaskRecord(
            created: NewTask(commandType: "SMCreateBDB", kind: kind, description: "create db 1", params: #"{"bdb":1}"#,
                             objectName: "bdb:1", nodeUid: "2", ops: ["3"]),
            id: id, now: 1_650_378_800_000, resultTtl: 500)
        task.status = status
        task.updatedAt = 1_650_378_874_500
        if status != .queued {
            task.attempt = 1
            task.startedAt = 1_650_378_801_000
            task.workerId = "worker-7"
            task.progress = 42.5
            task.state = "copying"
            task.ops = [TaskOp(id: "3", json: #"{"heartbeat":1650378874,"op_name":"copy","progress":50}"#)]
        }
        if status.isFinished { task.endedAt = 1_650_378_874_500 }
        if status == .completed {
            task.progress = 100
            task.response = #"{"resourceId":77899}"#
        }
        if status == .failed || status == .dismissed {
            task.errorCode = "insufficient_resources"
            task.errorMessage = "The cluster does not have sufficient resources."
        }
        return task
    }

    /// The bytes a response would carry, as `JSONWriter` writes them.
    static func bytes(_ value: some JSONWritable) -> [UInt8] {
        var writer = JSONWriter()
        value.writeJSON(to: &writer)
        return Array(writer.buffer.readableBytesView)
    }

    static func json(_ value: some JSONWritable) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes(value))) as? [String: Any])
    }

    /// Member names of the top-level object in the order they appear in the text.
    static func fieldOrder(_ value: some JSONWritable) throws -> [String] {
        let text = String(decoding: bytes(value), as: UTF8.self)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        // Each top-level name appears as `"name":` once at depth 1; find them by position.
        var names: [String] = []
        var depth = 0
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if character == "\"" {
                var end = text.index(after: index)
                while text[end] != "\"" { end = text[end] == "\\" ? text.index(end, offsetBy: 2) : text.index(after: end) }
                let after = text.index(after: end)
                if depth == 1, after < text.endIndex, text[after] == ":" {
                    names.append(String(text[text.index(after: index)..<end]))
                }
                index = after
                continue
            }
            if character == "{" || character == "[" { depth += 1 }
            if character == "}" || character == "]" { depth -= 1 }
            index = text.index(after: index)
        }
        #expect(Set(names) == Set(object.keys))
        return names
    }

    @Test func softwareActionObject() throws {
        let running = try Self.json(SoftwareActionRepresentation(Self.task(.running)))
        #expect(Set(running.keys) == ["action_uid", "task_id", "name", "status", "progress", "node_uid", "object_name", "state", "heartbeat", "pending_ops"])
        #expect(running["action_uid"] as? String == Self.id)
        #expect(running["task_id"] as? String == Self.id)
        #expect(running["name"] as? String == "SMCreateBDB")
        #expect(running["status"] as? String == "running")
        #expect(running["progress"] as? Double == 42.5)
        #expect(running["node_uid"] as? String == "2")
        #expect(running["object_name"] as? String == "bdb:1")
        #expect(running["heartbeat"] as? Int == 1_650_378_874)
        let op = try #require((running["pending_ops"] as? [String: Any])?["3"] as? [String: Any])
        #expect(op["op_name"] as? String == "copy")
        #expect(op["progress"] as? Int == 50)

        let failed = try Self.json(SoftwareActionRepresentation(Self.task(.failed)))
        #expect(failed["status"] as? String == "failed")
        #expect(failed["error_code"] as? String == "insufficient_resources")
        #expect(failed["error_message"] as? String == "The cluster does not have sufficient resources.")
    }

    @Test func softwareStateMachineUsesListVocabulary() throws {
        let machine = try Self.json(SoftwareActionRepresentation(Self.task(.running, kind: .stateMachine)))
        #expect(machine["status"] as? String == "active")
        let list = try Self.json(SoftwareActionsList(actions: [], stateMachines: [SoftwareActionRepresentation(Self.task(.completed, kind: .stateMachine))]))
        #expect(Set(list.keys) == ["actions", "state-machines"])
        let first = try #require((list["state-machines"] as? [[String: Any]])?.first)
        #expect(first["status"] as? String == "completed")
        #expect(first["progress"] as? Int == 100)
    }

    @Test func crdbTaskObject() throws {
        let running = try Self.json(CRDBTaskRepresentation(Self.task(.running), verbose: false))
        #expect(Set(running.keys) == ["id", "operation", "status", "started", "worker_name", "errors", "progress"])
        #expect(running["id"] as? String == Self.id)
        #expect(running["operation"] as? String == "SMCreateBDB")
        #expect(running["status"] as? String == "started")
        #expect(running["started"] as? String == "2022-04-19T14:33:21.000Z")
        #expect(running["worker_name"] as? String == "worker-7")
        #expect((running["errors"] as? [Any])?.isEmpty == true)

        let failed = try Self.json(CRDBTaskRepresentation(Self.task(.failed), verbose: true))
        #expect(failed["status"] as? String == "failed")
        #expect(failed["ended"] as? String == "2022-04-19T14:34:34.500Z")
        let error = try #require((failed["errors"] as? [[String: Any]])?.first)
        #expect(Set(error.keys) == ["cluster_name", "description", "error_code"])
        #expect(error["error_code"] as? String == "insufficient_resources")
        #expect(failed["lifecycle_status"] as? String == "failed")
        #expect(failed["state"] as? String == "copying")
    }

    @Test func cloudTaskObject() throws {
        let queued = try Self.json(NativeTaskRepresentation(Self.task(.queued), baseURL: "https://api.example.com"))
        #expect(queued["taskId"] as? String == Self.id)
        #expect(queued["commandType"] as? String == "SMCreateBDB")
        #expect(queued["status"] as? String == "received")
        #expect(queued["description"] as? String == "Task request received and is being queued for processing.")
        #expect(queued["timestamp"] as? String == "2022-04-19T14:34:34.500Z")
        #expect(queued["response"] == nil)
        let links = try #require(queued["_links"] as? [String: Any])
        let task = try #require(links["task"] as? [String: Any])
        #expect(task["href"] as? String == "https://api.example.com/v1/tasks/\(Self.id)")
        #expect(task["title"] as? String == "getTaskStatusUpdates")
        #expect(task["type"] as? String == "GET")
        #expect((queued["links"] as? [[String: Any]])?.map { $0["rel"] as? String } == ["self", "task"])
        // taskd's added fields (DESIGN.md §3).
        #expect(queued["lifecycleStatus"] as? String == "queued")
        #expect(queued["taskDescription"] as? String == "create db 1")
        #expect(queued["version"] as? Int == 1)

        let completed = try Self.json(NativeTaskRepresentation(Self.task(.completed), baseURL: ""))
        #expect(completed["status"] as? String == "processing-completed")
        #expect((completed["response"] as? [String: Any])?["resourceId"] as? Int == 77899)

        let failed = try Self.json(NativeTaskRepresentation(Self.task(.failed), baseURL: ""))
        let error = try #require((failed["response"] as? [String: Any])?["error"] as? [String: Any])
        #expect(error["type"] as? String == "insufficient_resources")
        #expect(error["status"] as? String == "400 BAD_REQUEST")
        #expect(error["description"] as? String == "The cluster does not have sufficient resources.")
    }

    @Test func kapiActionObject() throws {
        let running = try Self.json(KAPIActionRepresentation(Self.task(.running)))
        #expect(Set(running.keys) == ["id", "title", "created_at", "status", "description", "progress", "state"])
        #expect(running["title"] as? String == "SMCreateBDB")
        #expect(running["created_at"] as? Int == 1_650_378_800_000)
        #expect(running["status"] as? Int == 1)
        #expect(running["description"] as? String == "create db 1")
        #expect(running["state"] as? String == "copying")
    }

    /// README "JSON field order": representations are written in a fixed, documented order, and two
    /// answers for the same task are the same bytes (they went through dictionaries before issue 19).
    @Test func fieldOrderIsStableAndDocumented() throws {
        let completed = Self.task(.completed)
        let native = NativeTaskRepresentation(completed, baseURL: "https://api.example.com")
        #expect(Self.bytes(native) == Self.bytes(NativeTaskRepresentation(completed, baseURL: "https://api.example.com")))
        // Each representation's fields present, in the README's order (absent ones are left out).
        func inDocumentedOrder(_ value: some JSONWritable, _ documented: [String]) throws {
            let order = try Self.fieldOrder(value)
            #expect(order == documented.filter(order.contains), "\(type(of: value)): \(order)")
            #expect(Set(order).isSubset(of: documented), "\(type(of: value)): \(order)")
        }
        let nativeOrder = [
            "taskId", "commandType", "status", "description", "timestamp", "response", "_links", "links",
            "progress", "state", "lifecycleStatus", "taskDescription", "objectName", "kind", "attempt", "version",
        ]
        #expect(try Self.fieldOrder(native) == nativeOrder)
        let softwareOrder = [
            "action_uid", "task_id", "name", "status", "progress", "node_uid", "object_name", "state", "heartbeat",
            "pending_ops", "error_code", "error_message",
        ]
        let crdbOrder = [
            "id", "operation", "status", "started", "ended", "worker_name", "errors", "progress", "state",
            "status_description", "description", "object_name", "attempt", "max_attempts", "expires", "lifecycle_status",
        ]
        let kapiOrder = ["id", "title", "created_at", "status", "description", "progress", "state"]
        for status in TaskStatus.allCases {
            let task = Self.task(status)
            try inDocumentedOrder(NativeTaskRepresentation(task, baseURL: ""), nativeOrder)
            try inDocumentedOrder(SoftwareActionRepresentation(task), softwareOrder)
            try inDocumentedOrder(CRDBTaskRepresentation(task, verbose: true), crdbOrder)
            try inDocumentedOrder(CRDBTaskRepresentation(task, verbose: false), crdbOrder)
            try inDocumentedOrder(KAPIActionRepresentation(task), kapiOrder)
            #expect(Self.bytes(SoftwareActionRepresentation(task)) == Self.bytes(SoftwareActionRepresentation(task)))
        }
        // Nested objects too: links in rel, href, title, type order; caller JSON with sorted keys.
        let text = String(decoding: Self.bytes(native), as: UTF8.self)
        #expect(text.contains(#""_links":{"self":{"href":"https://api.example.com/v1/tasks/\#(Self.id)","type":"GET"},"task":{"href":"#))
        #expect(text.contains(#""response":{"resourceId":77899}"#))
        var task = completed
        task.response = #"{"zeta":1,"alpha":{"b":[true,null],"a":"x"}}"#
        #expect(String(decoding: Self.bytes(NativeTaskRepresentation(task, baseURL: "")), as: UTF8.self)
            .contains(#""response":{"alpha":{"a":"x","b":[true,null]},"zeta":1}"#))
    }

    /// Strings escape what JSON and JavaScript need escaped, and nothing else (not `/`, not non-ASCII).
    @Test func stringEscaping() throws {
        var writer = JSONWriter()
        writer.value("quote \" backslash \\ slash / newline \n tab \t nul \u{0} bell \u{7} unit \u{1F} del \u{7F} é 😀 \u{2028}\u{2029}")
        let text = String(decoding: writer.buffer.readableBytesView, as: UTF8.self)
        #expect(text == #""quote \" backslash \\ slash / newline \n tab \t nul \u0000 bell \u0007 unit \u001f del \#u{7F} é 😀 \u2028\u2029""#)
        // What it writes, a JSON parser reads back as the same string.
        let decoded = try JSONSerialization.jsonObject(with: Data(writer.buffer.readableBytesView), options: .fragmentsAllowed) as? String
        #expect(decoded == "quote \" backslash \\ slash / newline \n tab \t nul \u{0} bell \u{7} unit \u{1F} del \u{7F} é 😀 \u{2028}\u{2029}")
    }

    /// Numbers as `JSONEncoder` wrote them: integral values without `.0`, others in shortest form.
    @Test func numbers() {
        func text(_ number: Double) -> String {
            var writer = JSONWriter()
            writer.value(number)
            return String(decoding: writer.buffer.readableBytesView, as: UTF8.self)
        }
        #expect(text(100) == "100")
        #expect(text(42.5) == "42.5")
        #expect(text(-3) == "-3")
        #expect(text(0.1) == "0.1")
        #expect(text(1e20) == "1e+20")
        #expect(JSONValue.object(["n": .number(1_650_378_874), "f": .number(0.25)]).text == #"{"f":0.25,"n":1650378874}"#)
    }

    /// The parser reads what JSON allows and refuses the rest, as JSONDecoder did.
    @Test func parser() {
        #expect(JSONParser.parse(#" {"a": [1, -2.5e3, "x\u00e9\ud83d\ude00\n", true, false, null], "b": {}} "#)
            == .object(["a": .array([.number(1), .number(-2500), .string("xé😀\n"), .bool(true), .bool(false), .null]), "b": .object([:])]))
        for bad in ["", "{", #"{"a":1,}"#, "[1,]", "01", "-", "1.", "1e", "+1", #""\ud800""#, #""\x""#, "\"a\u{1}\"", "1e400",
                    "tru", "nul", "{} {}", "// c\n1", "{'a':1}", "[1 2]", #"{"a" 1}"#, "NaN"] {
            #expect(JSONParser.parse(bad) == nil, "\(bad) is not JSON")
        }
        let invalidUTF8: [UInt8] = [0x22, 0xC3, 0x28, 0x22]
        #expect(invalidUTF8.withUnsafeBufferPointer { JSONParser.parse($0) } == nil)
        #expect(JSONParser.parse(String(repeating: "[", count: 600) + String(repeating: "]", count: 600)) == nil)
    }

    /// DESIGN.md §2, row by row: canonical → RS action, RS list, CRDB, Cloud, kAPI.
    static let projections: [(TaskStatus, String, String, String, String, Int)] = [
        (.queued, "queued", "pending", "queued", "received", 0),
        (.starting, "starting", "active", "started", "processing-in-progress", 1),
        (.running, "running", "active", "started", "processing-in-progress", 1),
        (.impacted, "running", "active", "started", "processing-in-progress", 2),
        (.cancelling, "cancelling", "active", "started", "processing-in-progress", 1),
        (.cancelled, "cancelled", "failed", "failed", "processing-error", 4),
        (.completed, "completed", "completed", "finished", "processing-completed", 5),
        (.failed, "failed", "failed", "failed", "processing-error", 3),
        (.dismissed, "failed", "failed", "failed", "processing-error", 4),
    ]

    @Test(arguments: projections.map(\.0))
    func projectionTable(_ status: TaskStatus) throws {
        let row = try #require(Self.projections.first { $0.0 == status })
        #expect(try Self.json(SoftwareActionRepresentation(Self.task(status)))["status"] as? String == row.1)
        #expect(try Self.json(SoftwareActionRepresentation(Self.task(status, kind: .stateMachine)))["status"] as? String == row.2)
        #expect(try Self.json(CRDBTaskRepresentation(Self.task(status), verbose: false))["status"] as? String == row.3)
        #expect(try Self.json(NativeTaskRepresentation(Self.task(status), baseURL: ""))["status"] as? String == row.4)
        #expect(try Self.json(NativeTaskRepresentation(Self.task(status), baseURL: ""))["lifecycleStatus"] as? String == status.rawValue)
        #expect(try Self.json(KAPIActionRepresentation(Self.task(status)))["status"] as? Int == row.5)
    }
}
