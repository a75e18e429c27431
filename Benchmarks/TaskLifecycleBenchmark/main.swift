// The task lifecycle through TaskStore against a real redis-server: throughput, Redis CPU and commands
// per transition, and bytes per retained finished task. Run through `./dev bench lifecycle`, which
// starts the server, counts the client's commands with MONITOR (--calibrate) and measures the
// EVALSHA ceiling with redis-benchmark on the same server.
//
// One lifecycle = 13 transitions, each one TaskStore call:
//   create → claim (any ready task of the commandType) → 10 heartbeats (progress 10…100) → complete.
import Foundation
import Logging
import RESP
import RedisClient
import Synchronization
import TaskEngine

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct Options {
    var url = "redis://127.0.0.1:6379"
    var workers = 50
    var seconds = 10.0
    var warmup = 2.0
    var poolSize = RedisConfiguration().poolSize
    /// Finished tasks per memory batch (one batch per Redis setting).
    var memoryBatch = 5000
    /// Lifecycles to run with one worker for the MONITOR count; 0 = the full benchmark instead.
    var calibrate = 0
    var resultFile: String?
    /// Keyspace shards; with a cluster, enough to spread over the masters (e.g. 16 for three).
    var shards = 1
    /// Throughput, CPU and commands only: no memory batches (what the cluster comparison needs).
    var throughputOnly = false

    init(_ arguments: [String]) {
        var i = 1
        while i + 1 < arguments.count {
            let value = arguments[i + 1]
            switch arguments[i] {
            case "--url": url = value
            case "--workers": workers = Int(value) ?? workers
            case "--seconds": seconds = Double(value) ?? seconds
            case "--warmup": warmup = Double(value) ?? warmup
            case "--pool-size": poolSize = Int(value) ?? poolSize
            case "--memory-batch": memoryBatch = Int(value) ?? memoryBatch
            case "--calibrate": calibrate = Int(value) ?? calibrate
            case "--result-file": resultFile = value
            case "--shards": shards = Int(value) ?? shards
            case "--throughput-only": throughputOnly = value == "1"
            default: break
            }
            i += 2
        }
    }
}

let transitionsPerLifecycle = 13
let commandType = "bench"
/// The task shape of Lua/tests/measure.sh: short description, small params and response, no
/// objectName / uniqueKey / Idempotency-Key.
let newTask = NewTask(commandType: commandType, description: "Back up database 1", params: #"{"bdb":1}"#)
let response = #"{"resourceId":1}"#

/// Shared by the workers of one phase.
final class Phase: Sendable {
    let stop = Atomic<Bool>(false)
    /// Lifecycles still to start; the timed phase starts with Int.max and stops by `stop`.
    let remaining: Atomic<Int>
    let lifecycles = Atomic<Int>(0)
    let transitions = Atomic<Int>(0)
    let emptyClaims = Atomic<Int>(0)
    let collectIds: Bool

    init(lifecycles: Int, collectIds: Bool) {
        remaining = Atomic(lifecycles)
        self.collectIds = collectIds
    }
}

/// Upper bound of lifecycles one worker runs in one phase, whatever happens to the clock.
let maximumLifecyclesPerWorker = 10_000_000

/// One worker: lifecycles until the phase stops or its count is used up. Returns the finished ids.
func worker(_ index: Int, store: TaskStore, phase: Phase) async throws -> [String] {
    let workerId = "bench-worker-\(index)"
    var finished: [String] = []
    for _ in 0..<maximumLifecyclesPerWorker {
        if phase.stop.load(ordering: .relaxed) { break }
        guard phase.remaining.subtract(1, ordering: .relaxed).newValue >= 0 else { break }
        _ = try await store.create(newTask)
        phase.transitions.add(1, ordering: .relaxed)
        // A claim started after our create always finds a task (claims ≤ creates), but do not rely on it.
        var claimed: ClaimedTask?
        for _ in 0..<100 {
            claimed = try await store.claim(workerId: workerId, commandTypes: [commandType], wait: .seconds(1))
            if claimed != nil { break }
            phase.emptyClaims.add(1, ordering: .relaxed)
        }
        guard let task = claimed else { throw BenchmarkError("no task to claim for 100 s") }
        phase.transitions.add(1, ordering: .relaxed)
        for step in 1...10 {
            _ = try await store.heartbeat(task.id, Heartbeat(leaseToken: task.leaseToken, progress: Double(step * 10)))
            phase.transitions.add(1, ordering: .relaxed)
        }
        _ = try await store.complete(task.id, leaseToken: task.leaseToken, response: response)
        phase.transitions.add(1, ordering: .relaxed)
        phase.lifecycles.add(1, ordering: .relaxed)
        if phase.collectIds { finished.append(task.id) }
    }
    return finished
}

struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

// MARK: - Measuring

/// Seconds of CPU this process used (user + system).
func processCPUSeconds() -> Double {
    var usage = rusage()
    #if canImport(Glibc)
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    #else
    getrusage(RUSAGE_SELF, &usage)
    #endif
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// `INFO` sections as key → value.
/// INFO of every master (the one server when standalone), by endpoint.
func info(_ redis: RedisClient, _ sections: String...) async throws -> [String: [String: String]] {
    var byNode: [String: [String: String]] = [:]
    for node in try await redis.masters() {
        let reply = try await node.pool.send(RedisCommand("INFO", sections.map { .string($0) }))
        var fields: [String: String] = [:]
        for line in (reply.string ?? "").split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = String(line[line.index(after: colon)...])
        }
        byNode["\(node.endpoint)"] = fields
    }
    return byNode
}

struct Snapshot {
    var at: ContinuousClock.Instant
    var lifecycles: Int
    var transitions: Int
    /// Summed over the masters.
    var redisCPU: Double
    var clientCPU: Double
    /// command → (calls, usec), from `cmdstat_<name>:calls=…,usec=…,…`, summed over the masters.
    var commands: [String: (calls: Int, usec: Int)]
    /// Per master: CPU seconds and EVALSHA calls (how evenly the load is spread).
    var perMaster: [String: (cpu: Double, evalsha: Int)]

    static func take(_ redis: RedisClient, _ phase: Phase) async throws -> Snapshot {
        var commands: [String: (calls: Int, usec: Int)] = [:]
        var perMaster: [String: (cpu: Double, evalsha: Int)] = [:]
        var totalCPU = 0.0
        for (node, fields) in try await info(redis, "cpu", "commandstats") {
            for (key, value) in fields where key.hasPrefix("cmdstat_") {
                var calls = 0, usec = 0
                for part in value.split(separator: ",") {
                    let pair = part.split(separator: "=", maxSplits: 1)
                    guard pair.count == 2 else { continue }
                    if pair[0] == "calls" { calls = Int(pair[1]) ?? 0 }
                    if pair[0] == "usec" { usec = Int(pair[1]) ?? 0 }
                }
                let name = String(key.dropFirst("cmdstat_".count))
                let sum = commands[name] ?? (0, 0)
                commands[name] = (sum.calls + calls, sum.usec + usec)
                if name == "evalsha" { perMaster[node, default: (0, 0)].evalsha = calls }
            }
            let cpu = (Double(fields["used_cpu_sys"] ?? "") ?? 0) + (Double(fields["used_cpu_user"] ?? "") ?? 0)
            perMaster[node, default: (0, 0)].cpu = cpu
            totalCPU += cpu
        }
        return Snapshot(
            at: .now, lifecycles: phase.lifecycles.load(ordering: .relaxed),
            transitions: phase.transitions.load(ordering: .relaxed), redisCPU: totalCPU, clientCPU: processCPUSeconds(),
            commands: commands, perMaster: perMaster)
    }
}

func runWorkers(_ count: Int, store: TaskStore, phase: Phase, during body: @Sendable () async throws -> Void) async throws -> [String] {
    try await withThrowingTaskGroup(of: [String].self) { group in
        for index in 0..<count {
            group.addTask { try await worker(index, store: store, phase: phase) }
        }
        do {
            try await body()
        } catch {
            phase.stop.store(true, ordering: .relaxed)
            throw error
        }
        var ids: [String] = []
        for try await finished in group { ids += finished }
        return ids
    }
}

func format(_ value: Double, _ decimals: Int = 0) -> String { String(format: "%.\(decimals)f", value) }
func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}
func lpad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
}

// MARK: - Memory

struct MemorySample {
    var tasks = 0
    var hash = 0
    var stream = 0
    var events = 0
    var encodings: [String: Int] = [:]
}

/// `MEMORY USAGE … SAMPLES 0` of each task's hash and event stream, and its stream length.
func memoryOfTasks(_ redis: RedisClient, keyspace: TaskKeyspace, ids: [String]) async throws -> MemorySample {
    var sample = MemorySample()
    let shard = keyspace.shard(0)
    var start = 0
    while start < ids.count {
        let chunk = ids[start..<min(ids.count, start + 250)]
        start += chunk.count
        var commands: [RedisCommand] = []
        for id in chunk {
            let hash = shard.task(id), events = shard.taskEvents(id)
            commands.append(RedisCommand("MEMORY", ["USAGE", .string(hash), "SAMPLES", "0"], keys: [hash]))
            commands.append(RedisCommand("MEMORY", ["USAGE", .string(events), "SAMPLES", "0"], keys: [events]))
            commands.append(RedisCommand("XLEN", [.string(events)], keys: [events]))
            commands.append(RedisCommand("OBJECT", ["ENCODING", .string(hash)], keys: [hash]))
        }
        let replies = try await redis.pipeline(commands)
        for i in stride(from: 0, to: replies.count, by: 4) {
            guard let hash = replies[i].int, let stream = replies[i + 1].int, let events = replies[i + 2].int else {
                throw BenchmarkError("finished task \(chunk[chunk.startIndex + i / 4]) is gone: \(replies[i]) \(replies[i + 1])")
            }
            sample.tasks += 1
            sample.hash += hash
            sample.stream += stream
            sample.events += events
            sample.encodings[replies[i + 3].string ?? "?", default: 0] += 1
        }
    }
    return sample
}

/// Bytes per entry of an index zset (MEMORY USAGE of the whole zset ÷ its cardinality).
func bytesPerEntry(_ redis: RedisClient, _ key: String) async throws -> (bytes: Double, entries: Int, encoding: String) {
    let replies = try await redis.pipeline([
        RedisCommand("MEMORY", ["USAGE", .string(key), "SAMPLES", "0"], keys: [key]),
        RedisCommand("ZCARD", [.string(key)], keys: [key]),
        RedisCommand("OBJECT", ["ENCODING", .string(key)], keys: [key]),
    ])
    let entries = replies[1].int ?? 0
    return (Double(replies[0].int ?? 0) / Double(max(1, entries)), entries, replies[2].string ?? "?")
}

func memoryUsage(_ redis: RedisClient, _ key: String) async throws -> Int {
    try await redis.send(RedisCommand("MEMORY", ["USAGE", .string(key), "SAMPLES", "0"], keys: [key])).int ?? 0
}

/// used_memory summed over the masters.
func usedMemory(_ redis: RedisClient) async throws -> Int {
    var total = 0
    for fields in try await info(redis, "memory").values {
        guard let value = fields["used_memory"].flatMap({ Int($0) }) else {
            throw BenchmarkError("INFO memory has no used_memory")
        }
        total += value
    }
    return total
}

/// Pipelined 500 at a time; any error reply throws.
func inChunks(_ redis: RedisClient, _ commands: [RedisCommand]) async throws {
    var start = 0
    while start < commands.count {
        let end = min(commands.count, start + 500)
        for reply in try await redis.pipeline(Array(commands[start..<end])) { _ = try reply.throwingServerError() }
        start = end
    }
}

func configSet(_ redis: RedisClient, _ name: String, _ value: String) async throws {
    _ = try await redis.send(RedisCommand("CONFIG", ["SET", .string(name), .string(value)]))
}

// MARK: - Main

let options = Options(CommandLine.arguments)
var redisConfiguration = try RedisConfiguration(url: options.url)
redisConfiguration.poolSize = options.poolSize
// Warnings off: with nothing subscribed, the client's pub/sub connection is closed and reopened at every
// ping (every 5 s: PubSubHandler takes the +PONG reply outside subscribe mode for a protocol error) and
// would log two lines each time. It carries none of the benchmark's traffic.
var redisLogger = Logger(label: "redis")
redisLogger.logLevel = .error
let client = try RedisClient(configuration: redisConfiguration, logger: redisLogger)
let store = try TaskStore(redis: client, configuration: TaskEngineConfiguration(keyspace: TaskKeyspace(shardCount: options.shards)))
/// Holds the measurement window while the workers run.
final class Window: Sendable {
    let snapshots = Mutex<(Snapshot, Snapshot)?>(nil)
}

let results = try await client.withRunning { redis -> [String] in
    try await store.loadScripts()
    var results: [(String, String)] = []

    if options.calibrate > 0 {
        // One worker, a known number of lifecycles, between two ECHO markers the MONITOR reader looks for.
        _ = try await redis.send(RedisCommand("ECHO", ["lifecycle-calibrate-begin"]))
        let phase = Phase(lifecycles: options.calibrate, collectIds: false)
        _ = try await runWorkers(1, store: store, phase: phase) {}
        _ = try await redis.send(RedisCommand("ECHO", ["lifecycle-calibrate-end"]))
        print("calibrate: \(phase.lifecycles.load(ordering: .relaxed)) lifecycles, \(phase.transitions.load(ordering: .relaxed)) transitions")
        return []
    }

    // Throughput: warm up, then measure for `seconds`.
    let phase = Phase(lifecycles: Int.max, collectIds: false)
    let window = Window()
    _ = try await runWorkers(options.workers, store: store, phase: phase) {
        try await Task.sleep(for: .milliseconds(Int(options.warmup * 1000)))
        let before = try await Snapshot.take(redis, phase)
        try await Task.sleep(for: .milliseconds(Int(options.seconds * 1000)))
        let after = try await Snapshot.take(redis, phase)
        phase.stop.store(true, ordering: .relaxed)
        window.snapshots.withLock { $0 = (before, after) }
    }
    guard let (before, after) = window.snapshots.withLock({ $0 }) else { throw BenchmarkError("no measurement window") }
    let elapsed = seconds(after.at - before.at)
    let transitions = Double(after.transitions - before.transitions)
    let lifecycles = Double(after.lifecycles - before.lifecycles)
    // Lifecycles cut by the window's edges: normalise per-lifecycle figures by transitions / 13.
    let lifecycleEquivalents = transitions / Double(transitionsPerLifecycle)
    let redisCPU = after.redisCPU - before.redisCPU
    let clientCPU = after.clientCPU - before.clientCPU
    var deltas: [(name: String, calls: Int, usec: Int)] = []
    for (name, stats) in after.commands where name != "info" {
        let old = before.commands[name] ?? (0, 0)
        if stats.calls > old.calls { deltas.append((name, stats.calls - old.calls, stats.usec - old.usec)) }
    }
    deltas.sort { $0.calls > $1.calls }
    let totalCalls = deltas.reduce(0) { $0 + $1.calls }
    let evalshaCalls = Double(deltas.first { $0.name == "evalsha" }?.calls ?? 0)
    let evalshaUsec = Double(deltas.first { $0.name == "evalsha" }?.usec ?? 0)

    print("""
        throughput: \(options.workers) workers, pool of \(options.poolSize) pipelined connections, \
        \(format(options.warmup, 1)) s warm-up, \(format(elapsed, 2)) s measured
          lifecycles/s              \(format(lifecycles / elapsed))   (completed in the window)
          transitions/s             \(format(transitions / elapsed))   (\(transitionsPerLifecycle) per lifecycle)
          mean latency/transition   \(format(Double(options.workers) * elapsed / transitions * 1e6)) µs   (workers × time ÷ transitions)
          empty claims              \(phase.emptyClaims.load(ordering: .relaxed))
        Redis CPU (INFO cpu used_cpu_sys + used_cpu_user, whole process):
          per lifecycle             \(format(redisCPU * 1e6 / lifecycleEquivalents, 1)) µs
          per transition            \(format(redisCPU * 1e6 / transitions, 1)) µs
          of which inside EVALSHA   \(format(evalshaUsec / transitions, 1)) µs per transition (commandstats usec)
          utilisation               \(format(redisCPU / elapsed * 100)) % of one core
        client CPU (this process, getrusage):
          per transition            \(format(clientCPU * 1e6 / transitions, 1)) µs
          utilisation               \(format(clientCPU / elapsed * 100)) % of one core (2 cores in all)
        Redis commands per lifecycle (INFO commandstats deltas ÷ \(format(lifecycleEquivalents)) lifecycles; INFO itself excluded):
          total                     \(format(Double(totalCalls) / lifecycleEquivalents, 2))
        """)
    for delta in deltas {
        print("  \(pad(delta.name, 24))  \(lpad(format(Double(delta.calls) / lifecycleEquivalents, 2), 6))   \(lpad(format(Double(delta.usec) / Double(delta.calls), 2), 6)) µs/call")
    }
    print("  EVALSHA per transition    \(format(evalshaCalls / transitions, 3))   (EVALSHA runs only at top level: the client's commands)")
    // Each master's share of the Redis CPU and of the scripts run, against an equal share.
    let masters = after.perMaster.keys.sorted()
    var cpuShares: [Double] = [], evalshaShares: [Double] = []
    for node in masters {
        let cpu = after.perMaster[node]!.cpu - (before.perMaster[node]?.cpu ?? 0)
        let calls = Double(after.perMaster[node]!.evalsha - (before.perMaster[node]?.evalsha ?? 0))
        cpuShares.append(cpu / max(redisCPU, 1e-9) * Double(masters.count))
        evalshaShares.append(calls / max(evalshaCalls, 1) * Double(masters.count))
    }
    if masters.count > 1 {
        print("per master (share ÷ equal share; \(options.shards) shards):")
        for (index, node) in masters.enumerated() {
            print("  \(pad(node, 24))  CPU \(format(cpuShares[index], 2))×   EVALSHA \(format(evalshaShares[index], 2))×")
        }
    }
    results += [
        ("LIFECYCLES_PER_S", format(lifecycles / elapsed)),
        ("TRANSITIONS_PER_S", format(transitions / elapsed)),
        ("REDIS_US_PER_LIFECYCLE", format(redisCPU * 1e6 / lifecycleEquivalents, 1)),
        ("REDIS_US_PER_TRANSITION", format(redisCPU * 1e6 / transitions, 1)),
        ("EVALSHA_US_PER_TRANSITION", format(evalshaUsec / transitions, 1)),
        ("CLIENT_US_PER_TRANSITION", format(clientCPU * 1e6 / transitions, 1)),
        ("REDIS_CPU_PERCENT", format(redisCPU / elapsed * 100)),
        ("CLIENT_CPU_PERCENT", format(clientCPU / elapsed * 100)),
        ("COMMANDS_PER_LIFECYCLE", format(Double(totalCalls) / lifecycleEquivalents, 2)),
        ("EVALSHA_PER_TRANSITION", format(evalshaCalls / transitions, 3)),
        ("MASTERS", "\(masters.count)"),
        ("CPU_SHARES", "\"\(cpuShares.map { format($0, 2) }.joined(separator: " "))\""),
        ("EVALSHA_SHARES", "\"\(evalshaShares.map { format($0, 2) }.joined(separator: " "))\""),
    ]
    if options.throughputOnly { return results.map { "\($0.0)=\($0.1)" } }

    // Memory per retained finished task.
    let shard = store.keyspace.shard(0)
    print("\nmemory per retained finished task (hash + index entries; history = the task's event stream):")
    let finishedIndex = try await bytesPerEntry(redis, shard.finishedIndex)
    let updatedIndex = try await bytesPerEntry(redis, shard.updatedIndex)
    let indexBytes = finishedIndex.bytes + updatedIndex.bytes
    print("""
          index entries             \(format(indexBytes)) bytes: \(shard.finishedIndex) \(format(finishedIndex.bytes)) \
        (\(finishedIndex.entries) entries, \(finishedIndex.encoding)) + \(shard.updatedIndex) \(format(updatedIndex.bytes)) \
        (\(updatedIndex.entries) entries, \(updatedIndex.encoding)); MEMORY USAGE ÷ ZCARD
        """)
    results.append(("INDEX_BYTES", format(indexBytes)))

    let settings: [(label: String, key: String, apply: [(String, String)])] = [
        ("Redis defaults (stream-node-max-bytes 4096, hash-max-listpack-value 64)", "DEFAULT", []),
        ("CONFIG SET stream-node-max-bytes 512", "NODE512", [("stream-node-max-bytes", "512")]),
        ("+ CONFIG SET hash-max-listpack-value 512", "NODE512_HASH512", [("hash-max-listpack-value", "512")]),
    ]
    print("""
          \(options.memoryBatch) new lifecycles per setting (\(options.workers) workers), then two measurements of them:
          MEMORY USAGE … SAMPLES 0 of every hash and stream (index entries as above), and
          freed: the used_memory drop when the batch's streams, then hashes, then index entries are deleted
          (includes the keyspace and expires dict entries MEMORY USAGE leaves out; dicts do not shrink meanwhile)
        """)
    for setting in settings {
        for (name, value) in setting.apply { try await configSet(redis, name, value) }
        let batch = Phase(lifecycles: options.memoryBatch, collectIds: true)
        let ids = try await runWorkers(options.workers, store: store, phase: batch) {}
        let sample = try await memoryOfTasks(redis, keyspace: store.keyspace, ids: ids)
        let count = Double(sample.tasks)
        let hash = Double(sample.hash) / count
        let stream = Double(sample.stream) / count
        let events = Double(sample.events) / count
        let encodings = sample.encodings.map { "\($0.key) ×\($0.value)" }.sorted().joined(separator: ", ")

        let m0 = try await usedMemory(redis)
        try await inChunks(redis, ids.map { RedisCommand.del([shard.taskEvents($0)]) })
        let m1 = try await usedMemory(redis)
        try await inChunks(redis, ids.map { RedisCommand.del([shard.task($0)]) })
        let m2 = try await usedMemory(redis)
        try await inChunks(redis, ids.map { RedisCommand("ZREM", [.string(shard.finishedIndex), .string($0)], keys: [shard.finishedIndex]) })
        try await inChunks(redis, ids.map { RedisCommand("ZREM", [.string(shard.updatedIndex), .string($0)], keys: [shard.updatedIndex]) })
        let m3 = try await usedMemory(redis)
        let freedStream = Double(m0 - m1) / count
        let freedHash = Double(m1 - m2) / count
        let freedIndex = Double(m2 - m3) / count

        // The marginal cost of one event: a stream of 1000 progress events shaped like a heartbeat's.
        let probe = shard.base + "bench-probe:events"
        let p0 = try await usedMemory(redis)
        _ = try await redis.pipeline((1...1000).map { version in
            RedisCommand("XADD", [.string(probe), "MAXLEN", "~", "1000", "*", "kind", "progress", "status", "running",
                                  "version", .string(String(version + 2)), "progress", .string(String(version % 100))], keys: [probe])
        })
        let p1 = try await usedMemory(redis)
        let probeUsage = try await memoryUsage(redis, probe)
        _ = try await redis.send(RedisCommand.del([probe]))

        print("""
            \(setting.label):
                                          MEMORY USAGE   freed used_memory
              hash                        \(lpad(format(hash), 6))         \(lpad(format(freedHash), 6))   (\(encodings))
              index entries (2)           \(lpad(format(indexBytes), 6))         \(lpad(format(freedIndex), 6))
              without history             \(lpad(format(hash + indexBytes), 6))         \(lpad(format(freedHash + freedIndex), 6))   bytes per finished task
              history: event stream       \(lpad(format(stream), 6))         \(lpad(format(freedStream), 6))   for \(format(events, 1)) events
                per event (stream ÷ events) \(lpad(format(stream / events), 4))         \(lpad(format(freedStream / events), 6))
              with history                \(lpad(format(hash + indexBytes + stream), 6))         \(lpad(format(freedHash + freedIndex + freedStream), 6))
              marginal event (1000-event stream)  \(format(Double(probeUsage) / 1000)) (MEMORY USAGE ÷ 1000), \(format(Double(p1 - p0) / 1000)) (used_memory ÷ 1000)
            """)
        results += [
            ("\(setting.key)_HASH", format(hash)),
            ("\(setting.key)_WITHOUT_HISTORY", format(hash + indexBytes)),
            ("\(setting.key)_STREAM", format(stream)),
            ("\(setting.key)_PER_EVENT", format(stream / events)),
            ("\(setting.key)_WITH_HISTORY", format(hash + indexBytes + stream)),
            ("\(setting.key)_FREED_HASH", format(freedHash)),
            ("\(setting.key)_FREED_INDEX", format(freedIndex)),
            ("\(setting.key)_FREED_WITHOUT_HISTORY", format(freedHash + freedIndex)),
            ("\(setting.key)_FREED_STREAM", format(freedStream)),
            ("\(setting.key)_FREED_PER_EVENT", format(freedStream / events)),
            ("\(setting.key)_FREED_WITH_HISTORY", format(freedHash + freedIndex + freedStream)),
            ("\(setting.key)_MARGINAL_EVENT", format(Double(p1 - p0) / 1000)),
        ]
    }
    try await configSet(redis, "stream-node-max-bytes", "4096")
    try await configSet(redis, "hash-max-listpack-value", "64")
    return results.map { "\($0.0)=\($0.1)" }
}

if let path = options.resultFile {
    try results.map { $0 + "\n" }.joined().write(toFile: path, atomically: true, encoding: .utf8)
}
