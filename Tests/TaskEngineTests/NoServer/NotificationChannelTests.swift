import Foundation
import TaskEngine
import Testing

/// Which task a keyspace notification is about, read from its channel name without Foundation
/// (issue 19: every transition's notification reaches every replica).
@Suite struct NotificationChannelTests {
    @Test func aTaskStreamsChannelNamesItsTask() throws {
        let keyspace = try TaskKeyspace(prefix: "taskd", shardCount: 4)
        for shard in 0..<4 {
            let id = TaskID.make(shard: shard, milliseconds: 1_700_000_000_000)
            let channel = "__keyspace@0__:" + keyspace.shard(shard).taskEvents(id)
            #expect(keyspace.taskId(fromNotificationChannel: channel) == id, "\(channel)")
            #expect(!keyspace.isShardEventsChannel(channel))
        }
    }

    @Test func anythingElseNamesNone() throws {
        let keyspace = try TaskKeyspace(prefix: "taskd", shardCount: 1)
        let id = TaskID.make(shard: 0, milliseconds: 1_700_000_000_000)
        let events = keyspace.shard(0).taskEvents(id)
        let channel = "__keyspace@0__:" + events
        for other in [String(channel.dropLast()), channel.replacingFirst("}:task:", "}:tusk:"), "__keyspace@0__:taskd:{taskd:0}:task:nonsense:events",
                      "}:task::events", ":events", "", "__keyspace@0__:" + events.replacingFirst(id, id + "x")] {
            #expect(keyspace.taskId(fromNotificationChannel: other) == nil, "\(other)")
        }
    }
}

private extension String {
    func replacingFirst(_ target: String, _ replacement: String) -> String {
        guard let range = range(of: target) else { return self }
        var copy = self
        copy.replaceSubrange(range, with: replacement)
        return copy
    }
}
