import Logging
import RESP
import RedisClient
import ServiceLifecycle

/// Wakes blocked claims when a task becomes ready, so a waiting worker claims it at once without
/// polling Redis: one blocking `XREAD` of the shard event streams per replica, however many workers
/// wait. It reads on from the last entry it saw, so nothing queued while it reconnects is missed.
struct ReadyTaskWatcher: Service {
    let store: TaskStore

    /// Longest single `XREAD BLOCK`; well under the command timeout.
    static let blockMilliseconds = 1000

    func run() async {
        await store.readyTasks.watch {
            await cancelWhenGracefulShutdown {
                let streams = store.keyspace.shards.map(\.events)
                // One XREAD may name keys of one slot only in a cluster: there, one reader per shard
                // (each on the master that owns it); on one server, one reader for all.
                let groups: [[String]]
                do {
                    groups = try await store.redis.isCluster() ? streams.map { [$0] } : [streams]
                } catch {
                    groups = [streams]
                }
                await withDiscardingTaskGroup { group in
                    for streams in groups {
                        group.addTask { await keepWatching(streams) }
                    }
                }
            }
        }
    }

    private func keepWatching(_ streams: [String]) async {
        var failing = false
        while !Task.isCancelled {
            do {
                try await store.redis.withDedicatedConnection(forSlot: HashSlot.of(streams[0])) { connection in
                    try await watch(streams, on: connection)
                }
            } catch {
                if !failing && !Task.isCancelled {
                    store.logger.warning("ready-task watcher lost Redis; retrying", metadata: ["error": "\(error)"])
                }
                failing = true
                // Claims cannot trust the bell meanwhile: let them look for themselves.
                store.readyTasks.ring()
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    private func watch(_ streams: [String], on connection: RedisConnection) async throws {
        while !Task.isCancelled {
            // Nobody waits to claim (every claim finds work, or no worker here): read nothing. A busy
            // replica would otherwise read and parse every event of every shard to ring a bell no
            // claim listens to.
            await store.readyTasks.waitForWaiter()
            if Task.isCancelled { return }
            try await followUntilIdle(streams, on: connection)
        }
    }

    /// Reads the shard streams from their newest entry on, ringing for every task made ready, until
    /// no claim waits any more.
    private func followUntilIdle(_ streams: [String], on connection: RedisConnection) async throws {
        // Start after each stream's newest entry: whatever is queued later wakes the claims.
        var lastIds = try await connection.pipeline(streams.map { RedisCommand("XREVRANGE", [.string($0), "+", "-", "COUNT", "1"], keys: [$0]) })
            .map { reply in (try reply.throwingServerError().array?.first?.array?.first?.string) ?? "0-0" }
        // Anything queued before this point was missed while not watching: a waiting claim looks again.
        store.readyTasks.ring()
        while !Task.isCancelled {
            let arguments: [RESPArgument] = ["COUNT", "1000", "BLOCK", .integer(Self.blockMilliseconds), "STREAMS"]
                + streams.map { .string($0) } + lastIds.map { .string($0) }
            let reply = try await connection.send(RedisCommand("XREAD", arguments), timeout: .milliseconds(Int64(Self.blockMilliseconds) + 5000))
            var ready = false
            for stream in reply.array ?? [] {  // nil: the block timed out
                guard let pair = stream.array, pair.count == 2, let name = pair[0].string,
                      let index = streams.firstIndex(of: name), let entries = pair[1].array
                else { continue }
                for entry in entries {
                    guard let fields = entry.array, fields.count == 2, let id = fields[0].string else { continue }
                    lastIds[index] = id
                    if !ready, Self.makesReady(fields[1].array ?? []) { ready = true }
                }
            }
            if ready { store.readyTasks.ring() }
            if !store.readyTasks.hasWaiters { return }
        }
    }

    /// A `created` event, or any event that leaves a task `queued` (a retry or a lost lease).
    static func makesReady(_ fields: [RESPValue]) -> Bool {
        var index = 0
        while index + 1 < fields.count {
            switch fields[index].string {
            case "kind" where fields[index + 1].string == "created": return true
            case "status" where fields[index + 1].string == "queued": return true
            default: break
            }
            index += 2
        }
        return false
    }
}
