// Lifecycles through TaskWorker next to the same lifecycles through TaskStore, same run, same Redis.
// Run through `./dev bench worker [seconds]`, which starts the server.
//
// One lifecycle = create → claim → 10 progress reports → complete (13 transitions).
//   store:  50 loops, each awaiting every TaskStore call in turn (the lifecycle benchmark's loop);
//   worker: one TaskWorker with concurrency 50 whose handler reports progress 10…100 and creates
//           the next lifecycle's task (100 queued ahead at the start), as each store loop creates its own.
// Prints lifecycles/s, Redis CPU, this process's CPU and Redis commands per lifecycle of each, and the
// worker ÷ store ratio. Diagnosis: `--only worker` (for a profiler), `--claimers N` (the worker's
// concurrent claims, default 4), `--store-watcher 1` (the ready-task watcher beside the store loops,
// which the worker always runs: it reads every shard event to wake claims).
import Foundation
import Logging
import RESP
import RedisClient
import Synchronization
import TaskEngine
import TaskWorker

#if canImport(Glibc)
import Glibc
#endif

let arguments = CommandLine.arguments
func option(_ name: String, _ fallback: String) -> String {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return fallback }
    return arguments[index + 1]
}
let url = option("--url", "redis://127.0.0.1:6379")
let measured = Double(option("--seconds", "10")) ?? 10
let warmup = 2.0
let concurrency = 50
let commandType = "bench"
let newTask = NewTask(commandType: commandType, description: "Back up database 1", params: #"{"bdb":1}"#)
let response = #"{"resourceId":1}"#

final class Counters: Sendable {
    let stop = Atomic<Bool>(false)
    let lifecycles = Atomic<Int>(0)
}

func redisCPU(_ redis: RedisClient) async throws -> Double {
    let text = try await redis.send(RedisCommand("INFO", ["cpu"])).string ?? ""
    return text.split(whereSeparator: \.isNewline).reduce(0.0) { sum, line in
        let parts = line.split(separator: ":")
        guard parts.count == 2, parts[0] == "used_cpu_sys" || parts[0] == "used_cpu_user" else { return sum }
        return sum + (Double(parts[1]) ?? 0)
    }
}

/// `cmdstat_<name>:calls=…,usec=…` of INFO commandstats, by command.
func commandCalls(_ redis: RedisClient) async throws -> [String: Int] {
    let text = try await redis.send(RedisCommand("INFO", ["commandstats"])).string ?? ""
    var calls: [String: Int] = [:]
    for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix("cmdstat_") {
        let name = line.dropFirst("cmdstat_".count).prefix(while: { $0 != ":" })
        if let range = line.range(of: "calls="), let value = Int(line[range.upperBound...].prefix(while: \.isNumber)) {
            calls[String(name)] = value
        }
    }
    return calls
}

/// Seconds of CPU this process used (user + system).
func processCPU() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

struct Figures {
    var lifecyclesPerSecond: Double
    var redisMicrosecondsPerLifecycle: Double
}

/// Runs `load` until stopped; measures `measured` seconds after the warm-up.
func measure(_ name: String, redis: RedisClient, counters: Counters, load: @escaping @Sendable () async throws -> Void) async throws -> Figures {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await load() }
        try await Task.sleep(for: .seconds(warmup))
        let startCPU = try await redisCPU(redis), startCount = counters.lifecycles.load(ordering: .relaxed), start = ContinuousClock.now
        let startCalls = try await commandCalls(redis)
        let startClient = processCPU()
        try await Task.sleep(for: .seconds(measured))
        let endCPU = try await redisCPU(redis), endCount = counters.lifecycles.load(ordering: .relaxed), end = ContinuousClock.now
        let endClient = processCPU()
        let endCalls = try await commandCalls(redis)
        counters.stop.store(true, ordering: .relaxed)
        group.cancelAll()
        try? await group.waitForAll()
        let elapsed = Double((end - start).components.seconds) + Double((end - start).components.attoseconds) / 1e18
        let lifecycles = Double(endCount - startCount)
        let figures = Figures(lifecyclesPerSecond: lifecycles / elapsed, redisMicrosecondsPerLifecycle: (endCPU - startCPU) * 1e6 / max(lifecycles, 1))
        let perLifecycle = endCalls.compactMap { name, calls -> (String, Double)? in
            let delta = calls - (startCalls[name] ?? 0)
            return name == "info" || delta == 0 ? nil : (name, Double(delta) / max(lifecycles, 1))
        }.sorted { $0.1 > $1.1 }
        print("\(name.padding(toLength: 8, withPad: " ", startingAt: 0))  \(String(format: "%8.0f", figures.lifecyclesPerSecond)) lifecycles/s   \(String(format: "%6.1f", figures.redisMicrosecondsPerLifecycle)) µs Redis CPU per lifecycle")
        print("          client CPU (this process) \(String(format: "%.1f", (endClient - startClient) * 1e6 / max(lifecycles, 1))) µs per lifecycle, \(String(format: "%.0f", (endClient - startClient) / elapsed * 100)) % of one core")
        print("          client commands per lifecycle: " + perLifecycle.map { "\($0.0) \(String(format: "%.2f", $0.1))" }.joined(separator: ", "))
        return figures
    }
}

let logger: Logger = {
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    return logger
}()
let redis = try RedisClient(url: url, logger: logger)
let figures = try await redis.withRunning { redis -> (Figures, Figures) in
    func store(_ prefix: String) throws -> TaskStore {
        try TaskStore(redis: redis, configuration: TaskEngineConfiguration(keyspace: TaskKeyspace(prefix: prefix)), logger: logger)
    }
    print("\(concurrency) at once, \(warmup) s warm-up, \(measured) s measured, load \(try String(contentsOfFile: "/proc/loadavg", encoding: .utf8).prefix(14))")

    // 1. TaskStore: the lifecycle benchmark's loop. (`--only worker` leaves it out, for profiling.)
    let direct = try store("bench-store")
    try await direct.loadScripts()
    let storeCounters = Counters()
    let storeFigures = option("--only", "") == "worker" ? Figures(lifecyclesPerSecond: 1, redisMicrosecondsPerLifecycle: 0) : try await measure("store", redis: redis, counters: storeCounters) {
        try await withThrowingTaskGroup(of: Void.self) { group in
            // `--store-watcher 1`: the ready-task watcher beside the loops, as a taskd replica runs it (diagnosis).
            if option("--store-watcher", "0") == "1" { group.addTask { try await direct.readyTaskWatcher.run() } }
            for index in 0..<concurrency {
                group.addTask {
                    while !storeCounters.stop.load(ordering: .relaxed) {
                        _ = try await direct.create(newTask)
                        guard let task = try await direct.claim(workerId: "loop-\(index)", commandTypes: [commandType], wait: .seconds(1)) else { continue }
                        for step in 1...10 {
                            _ = try await direct.heartbeat(task.id, Heartbeat(leaseToken: task.leaseToken, progress: Double(step * 10)))
                        }
                        _ = try await direct.complete(task.id, leaseToken: task.leaseToken, response: response)
                        storeCounters.lifecycles.add(1, ordering: .relaxed)
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    // 2. TaskWorker: producers keep 100 tasks ahead; the handler reports ten times and returns.
    let library = try store("bench-worker")
    try await library.loadScripts()
    let workerCounters = Counters()
    let worker = TaskWorker(store: library, configuration: TaskWorkerConfiguration(commandTypes: [commandType], concurrency: concurrency, lease: .seconds(30), claimers: Int(option("--claimers", "4"))), logger: logger) { context in
        for step in 1...10 { try await context.report(progress: Double(step * 10)) }
        workerCounters.lifecycles.add(1, ordering: .relaxed)
        // The next lifecycle's create, as each of the store loops makes its own: 50 creators at once.
        if !workerCounters.stop.load(ordering: .relaxed) { _ = try await library.create(newTask) }
        return response
    }
    let workerFigures = try await measure("worker", redis: redis, counters: workerCounters) {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await worker.run() }
            // 100 tasks ahead of the worker; each handler then creates the next one.
            for _ in 0..<(2 * concurrency) { _ = try await library.create(newTask) }
            try await group.next()
        }
    }
    return (storeFigures, workerFigures)
}
let ratio = figures.1.lifecyclesPerSecond / figures.0.lifecyclesPerSecond
let bullmq = 467.0
print("""

    worker ÷ store           \(String(format: "%.2f", ratio))   (goal ≥ 0.90)  \(ratio >= 0.9 ? "met" : "MISSED")
    worker ÷ BullMQ-py 467/s \(String(format: "%.1f", figures.1.lifecyclesPerSecond / bullmq))×  (goal ≥ 6×; BullMQ-py 3.4.4, 10 progress updates, 2 processes × 25, measured on this machine)  \(figures.1.lifecyclesPerSecond / bullmq >= 6 ? "met" : "MISSED")
    """)
