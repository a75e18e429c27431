import NIOCore
import RESP
import RedisClient

extension TaskStore {
    /// The task, or nil when it does not exist (unknown, deleted or expired: never "pending").
    public func get(_ id: String) async throws -> TaskRecord? {
        guard let shard = keyspace.shard(ofTask: id) else { return nil }
        let reply = try await redis.send(.init("HGETALL", [.string(shard.task(id))], keys: [shard.task(id)]))
        return try TaskRecord(id: id, hash: reply)
    }

    /// Several tasks in one pipelined round trip, in the order asked; missing ones are left out.
    public func get(_ ids: [String]) async throws -> [TaskRecord] {
        let known = ids.compactMap { id in keyspace.shard(ofTask: id).map { (id, $0.task(id)) } }
        guard !known.isEmpty else { return [] }
        let replies = try await redis.pipeline(known.map { RedisCommand("HGETALL", [.string($0.1)], keys: [$0.1]) })
        var tasks: [TaskRecord] = []
        tasks.reserveCapacity(known.count)
        for ((id, _), reply) in zip(known, replies) {
            if let task = try TaskRecord(id: id, hash: reply.throwingServerError()) { tasks.append(task) }
        }
        return tasks
    }

    /// Several tasks by id (duplicates asked once), in one pipelined round trip; missing ones absent.
    public func tasksById<Ids: Sequence>(_ ids: Ids) async throws -> [String: TaskRecord] where Ids.Element == String {
        let tasks = try await get(Array(Set(ids)))
        return Dictionary(tasks.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Tasks matching `query`, newest update first, one page at a time.
    public func list(_ query: TaskQuery) async throws -> TaskPage {
        try InputCheck.range(query.limit, "limit", TaskQuery.limitRange)
        if let commandType = query.commandType { try InputCheck.name(commandType, "commandType", length: TaskLimits.commandTypeLength) }
        try InputCheck.line(query.objectName, "objectName", length: 1...TaskLimits.nameLength.upperBound)
        let cursor = try query.cursor.map(ListCursor.init)
        if let objectName = query.objectName {
            return try await listObject(objectName, query: query, after: cursor)
        }
        return try await listByUpdate(query: query, after: cursor)
    }

    /// Most index entries one `list` call looks at; past that it returns what it found and a cursor.
    static let listScanBudget = 5000

    /// Walks `index:updated` of every shard downwards from the cursor, merging the shards in order.
    private func listByUpdate(query: TaskQuery, after cursor: ListCursor?) async throws -> TaskPage {
        var position = cursor
        var found: [TaskRecord] = []
        var scanned = 0
        let batch = min(500, max(50, query.limit * 2))
        while found.count < query.limit, scanned < Self.listScanBudget {
            let (entries, exhausted) = try await nextIndexEntries(after: position, since: query.updatedSince, batch: batch)
            if entries.isEmpty { return TaskPage(tasks: found, nextCursor: nil) }
            let byId = try await tasksById(entries.map(\.id))
            for entry in entries {
                scanned += 1
                position = entry
                // A task updated since the index was read moved up the order; it is listed where it is now.
                if let task = byId[entry.id], task.updatedAt == entry.updatedAt, query.matches(task) {
                    found.append(task)
                    if found.count == query.limit { break }
                }
            }
            if exhausted && position == entries.last { return TaskPage(tasks: found, nextCursor: nil) }
        }
        return TaskPage(tasks: found, nextCursor: position?.text)
    }

    /// The next entries below `position` over all shards, in listing order, as far as every shard's
    /// batch is known to be complete; `exhausted` when no shard has anything further.
    private func nextIndexEntries(after position: ListCursor?, since: Int64?, batch: Int) async throws -> ([ListCursor], exhausted: Bool) {
        var size = batch
        while true {
            let max = position.map { String($0.updatedAt) } ?? "+inf"
            let min = since.map { String($0) } ?? "-inf"
            let commands = keyspace.shards.map { shard in
                RedisCommand("ZREVRANGEBYSCORE", [.string(shard.updatedIndex), .string(max), .string(min), "WITHSCORES", "LIMIT", "0", .integer(size)],
                             keys: [shard.updatedIndex])
            }
            let replies = try await redis.pipeline(commands)
            var entries: [ListCursor] = []
            var cutoff: ListCursor?
            var anyFullBatch = false
            for reply in replies {
                let values = try reply.throwingServerError().array ?? []
                var shardEntries: [ListCursor] = []
                var index = 0
                while index + 1 < values.count {
                    if let id = values[index].string, let score = values[index + 1].string.flatMap(Double.init) {
                        shardEntries.append(ListCursor(updatedAt: Int64(score), id: id))
                    }
                    index += 2
                }
                if shardEntries.count == size, let last = shardEntries.last {
                    // This shard may hold more below its last entry: nothing under it is known yet.
                    anyFullBatch = true
                    cutoff = Swift.max(cutoff ?? last, last)
                }
                entries += shardEntries.filter { position == nil || $0 < position! }
            }
            entries.sort(by: >)
            if let cutoff { entries = entries.filter { $0 >= cutoff } }
            if !entries.isEmpty || !anyFullBatch || size >= 20000 {
                return (entries, !anyFullBatch)
            }
            // Every entry fetched shares the cursor's update time and was listed already: look further.
            size *= 4
        }
    }

    /// Tasks of one object (`index:object`), sorted and paged in memory: an object has few tasks.
    private func listObject(_ objectName: String, query: TaskQuery, after cursor: ListCursor?) async throws -> TaskPage {
        let start = "[" + objectName + "\n"
        let commands = keyspace.shards.map { shard in
            RedisCommand("ZRANGEBYLEX", [.string(shard.objectIndex), .string(start), .bytes(Self.lexUpperBound(objectName)), "LIMIT", "0", "10000"],
                         keys: [shard.objectIndex])
        }
        var ids: [String] = []
        for reply in try await redis.pipeline(commands) {
            for member in try reply.throwingServerError().array ?? [] {
                if let text = member.string, let newline = text.lastIndex(of: "\n") {
                    ids.append(String(text[text.index(after: newline)...]))
                }
            }
        }
        let ordered = try await get(ids)
            .filter(query.matches)
            .map { (ListCursor(updatedAt: $0.updatedAt, id: $0.id), $0) }
            .filter { cursor == nil || $0.0 < cursor! }
            .sorted { $0.0 > $1.0 }
        let page = ordered.prefix(query.limit)
        let more = ordered.count > page.count
        return TaskPage(tasks: page.map(\.1), nextCursor: more ? page.last?.0.text : nil)
    }

    /// `[<objectName>\n\xff`: the inclusive upper end of one object's entries in lexicographic order.
    static func lexUpperBound(_ objectName: String) -> ByteBuffer {
        var buffer = ByteBuffer(string: "[" + objectName + "\n")
        buffer.writeInteger(UInt8(0xFF))
        return buffer
    }
}
