import RESP
import RedisClient

/// One entry of a task's event stream (Lua/README.md, "Events"): every transition and every
/// visible heartbeat, in order, each with its own stream entry id.
public struct TaskEvent: Sendable, Hashable {
    /// The stream entry id (`1700000000000-0`): the SSE `id:` and the `Last-Event-ID` to resume after.
    public var id: String
    public var taskId: String
    /// `created`, `claimed`, `progress`, `status`, `deleted`.
    public var kind: String
    public var status: TaskStatus
    public var version: Int64
    public var progress: Double
    /// The rest: `state`, `reason`, `errorCode`, `retryAt`, `attempt`, `workerId`.
    public var extras: [String: String]

    /// Whether the task ends with this event: nothing follows it on the task's stream but `dismissed`.
    public var isTerminal: Bool { status.isFinished && status != .failed || kind == "deleted" }

    /// From an `XRANGE`/`XREAD` entry `[id, [field, value, …]]`; a task stream's entries lack `id`.
    init?(entry: RESPValue, taskId: String?) {
        guard let pair = entry.array, pair.count == 2, let entryId = pair[0].string, let values = pair[1].array else { return nil }
        var fields: [String: String] = [:]
        var index = 0
        while index + 1 < values.count {
            if let name = values[index].string, let value = values[index + 1].string { fields[name] = value }
            index += 2
        }
        guard let id = taskId ?? fields["id"], let kind = fields.removeValue(forKey: "kind") else { return nil }
        let statusText = fields.removeValue(forKey: "status") ?? ""
        guard let status = TaskStatus(rawValue: statusText) ?? (kind == "deleted" ? .dismissed : nil) else { return nil }
        fields["id"] = nil
        self.id = entryId
        self.taskId = id
        self.kind = kind
        self.status = status
        self.version = fields.removeValue(forKey: "version").flatMap { Int64($0) } ?? 0
        self.progress = fields.removeValue(forKey: "progress").flatMap { Double($0) } ?? 0
        self.extras = fields
    }
}

/// Stream entry ids compare as (milliseconds, sequence).
public struct StreamID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var milliseconds: UInt64
    public var sequence: UInt64

    /// The id in `text`; nil when it is not `<ms>-<seq>`, or is the largest id there is: taskd never
    /// writes explicit ids, no entry can follow that one, and Redis refuses an exclusive range start
    /// there (a `Last-Event-ID` of it is a 400, not a dropped stream).
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let ms = UInt64(parts[0]), let seq = UInt64(parts[1]), ms < .max || seq < .max else { return nil }
        milliseconds = ms
        sequence = seq
    }

    public var description: String { "\(milliseconds)-\(sequence)" }

    public static func < (a: StreamID, b: StreamID) -> Bool {
        (a.milliseconds, a.sequence) < (b.milliseconds, b.sequence)
    }
}

/// Events of one task read after a position.
public struct TaskEventsPage: Sendable, Hashable {
    public var events: [TaskEvent]
    /// The position asked for is older than the retained history: events may be missing before
    /// the first one here (the stream was trimmed), so the reader needs a fresh snapshot.
    public var trimmed: Bool
}

extension TaskStore {
    /// The events of task `id` after entry `after` (exclusive; nil = from the start), oldest first.
    ///
    /// With `checkTrimmed` (a client resuming from its own `Last-Event-ID`), it also asks `XINFO
    /// STREAM` whether entries the client never saw may have been trimmed (see ``lostEntries``).
    public func events(ofTask id: String, after: StreamID?, count: Int = 1000, checkTrimmed: Bool = false) async throws -> TaskEventsPage {
        let shard = try shard(ofTask: id)
        let key = shard.taskEvents(id)
        let start = after.map { "(" + $0.description } ?? "-"
        var commands = [RedisCommand("XRANGE", [.string(key), .string(start), "+", "COUNT", .integer(count)], keys: [key])]
        if checkTrimmed, after != nil {
            commands.append(RedisCommand("XINFO", ["STREAM", .string(key)], keys: [key]))
        }
        let replies = try await redis.pipeline(commands)
        let events = try (replies[0].throwingServerError().array ?? []).compactMap { TaskEvent(entry: $0, taskId: id) }
        var trimmed = false
        if let after, replies.count > 1, let info = replies[1].array {
            trimmed = Self.lostEntries(after: after, streamInfo: info)
        }
        return TaskEventsPage(events: events, trimmed: trimmed)
    }
}

extension TaskStore {
    /// Whether entries after `after` may be gone: the stream has trimmed something (entries-added
    /// exceeds its length) and its oldest kept entry is newer than `after`. `MAXLEN ~` trims from
    /// the oldest end, so anything between the two was trimmed; when nothing lay between, this errs
    /// on the side of a snapshot, never of a silent gap.
    static func lostEntries(after: StreamID, streamInfo info: [RESPValue]) -> Bool {
        var fields: [String: RESPValue] = [:]
        var index = 0
        while index + 1 < info.count {
            if let name = info[index].string { fields[name] = info[index + 1] }
            index += 2
        }
        guard let length = fields["length"]?.int, let added = fields["entries-added"]?.int, added > length else { return false }
        let oldest = fields["recorded-first-entry-id"]?.string.flatMap(StreamID.init)
            ?? fields["first-entry"]?.array?.first?.string.flatMap(StreamID.init)
        guard let oldest else { return true }
        return after < oldest
    }

    /// The id of task `id`'s newest event; nil when it has none (or no longer exists).
    public func newestEventID(ofTask id: String) async throws -> StreamID? {
        let key = try shard(ofTask: id).taskEvents(id)
        let reply = try await redis.send(RedisCommand("XREVRANGE", [.string(key), "+", "-", "COUNT", "1"], keys: [key]))
        return reply.array?.first?.array?.first?.string.flatMap(StreamID.init)
    }
}

/// Where a reader of every shard's event stream stands: one stream entry id per shard.
public struct ShardPositions: Sendable, Hashable, CustomStringConvertible {
    public var positions: [Int: StreamID]

    public init(_ positions: [Int: StreamID] = [:]) {
        self.positions = positions
    }

    /// `<shard>:<ms>-<seq>` joined by `,` (e.g. `0:1700000000000-0,1:1700000000001-3`): the SSE id of
    /// the all-tasks stream, so `Last-Event-ID` resumes every shard where it was.
    public init?(_ text: String) {
        var positions: [Int: StreamID] = [:]
        for part in text.split(separator: ",") {
            let pieces = part.split(separator: ":", maxSplits: 1)
            guard pieces.count == 2, let shard = Int(pieces[0]), (0..<TaskID.maximumShards).contains(shard),
                  let position = StreamID(String(pieces[1]))
            else { return nil }
            positions[shard] = position
        }
        guard !positions.isEmpty else { return nil }
        self.positions = positions
    }

    public var description: String {
        positions.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ",")
    }
}

extension TaskStore {
    /// Every shard's newest event id: where a live all-tasks reader starts.
    public func newestShardPositions() async throws -> ShardPositions {
        let shards = keyspace.shards
        let replies = try await redis.pipeline(shards.map { RedisCommand("XREVRANGE", [.string($0.events), "+", "-", "COUNT", "1"], keys: [$0.events]) })
        var positions = ShardPositions()
        for (shard, reply) in zip(shards, replies) {
            positions.positions[shard.number] = try reply.throwingServerError().array?.first?.array?.first?.string.flatMap(StreamID.init) ?? StreamID("0-0")
        }
        return positions
    }

    /// Events of every shard after `positions` (a shard without one: from its start), in shard order
    /// and within a shard in stream order, with the positions after them. With `checkTrimmed`, also
    /// whether a shard trimmed entries the reader never saw.
    public func shardEvents(after positions: ShardPositions, count: Int = 1000, checkTrimmed: Bool = false) async throws -> (events: [(shard: Int, event: TaskEvent)], positions: ShardPositions, trimmed: Bool) {
        let shards = keyspace.shards
        var commands: [RedisCommand] = []
        for shard in shards {
            let start = positions.positions[shard.number].map { "(" + $0.description } ?? "-"
            commands.append(RedisCommand("XRANGE", [.string(shard.events), .string(start), "+", "COUNT", .integer(count)], keys: [shard.events]))
            if checkTrimmed {
                commands.append(RedisCommand("XINFO", ["STREAM", .string(shard.events)], keys: [shard.events]))
            }
        }
        let replies = try await redis.pipeline(commands)
        var events: [(shard: Int, event: TaskEvent)] = []
        var after = positions
        var trimmed = false
        let step = checkTrimmed ? 2 : 1
        for (index, shard) in shards.enumerated() {
            for entry in try replies[index * step].throwingServerError().array ?? [] {
                guard let event = TaskEvent(entry: entry, taskId: nil) else { continue }
                events.append((shard.number, event))
                after.positions[shard.number] = StreamID(event.id)
            }
            if checkTrimmed, let known = positions.positions[shard.number], let info = replies[index * step + 1].array,
               Self.lostEntries(after: known, streamInfo: info) {
                trimmed = true
            }
        }
        return (events, after, trimmed)
    }
}

extension TaskKeyspace {
    /// The keyspace-notification pattern for every event stream of this prefix in `database`, the
    /// tasks' and the shards': `__keyspace@0__:taskd:{taskd:*}:*events` (glob characters escaped).
    public func eventsNotificationPattern(database: Int) -> String {
        let escaped = Self.globEscaped(prefix)
        return "__keyspace@\(database)__:\(escaped):{\(escaped):*}:*events"
    }

    /// Whether a notification channel from that pattern is about a shard's stream (not a task's).
    public func isShardEventsChannel(_ channel: String) -> Bool {
        channel.hasSuffix("}:events")
    }

    /// The task id a notification channel from that pattern is about: `…}:task:<id>:events`. Read
    /// from the end, without Foundation's `range(of:)` (a third of handling a notification, and
    /// every transition's notification reaches every replica): an id has no `:`, and a prefix
    /// and its shard tags have no braces, so the last `:` before `:events` starts the id.
    public func taskId(fromNotificationChannel channel: String) -> String? {
        guard channel.hasSuffix(":events") else { return nil }
        let rest = channel.utf8.dropLast(":events".utf8.count)
        guard let colon = rest.lastIndex(of: UInt8(ascii: ":")), channel[..<colon].hasSuffix("}:task") else { return nil }
        let id = String(channel[channel.utf8.index(after: colon)..<rest.endIndex])
        return TaskID.isValid(id) ? id : nil
    }

    static func globEscaped(_ text: String) -> String {
        var out = ""
        for character in text {
            if "*?[]\\".contains(character) { out.append("\\") }
            out.append(character)
        }
        return out
    }
}
