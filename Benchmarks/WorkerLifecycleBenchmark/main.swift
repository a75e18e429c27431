// Lifecycles through TaskWorker next to the same lifecycles through TaskStore, same run, same Redis.
// Run through `./dev bench worker [seconds]`, which starts the server.
//
// One lifecycle = create → claim → 10 progress reports → complete (13 transitions).
//   store:  50 loops, each awaiting every TaskStore call in turn (the lifecycle benchmark's loop);
//   worker: one TaskWorker with concurrency 50 whose handler reports progress 10…100, fed by
//           producers that keep 100 tasks queued ahead of it.
// Prints lifecycles/s and Redis CPU per lifecycle of each, and the worker ÷ store ratio.
import Foundation
import Logging
import RESP
import RedisClient
import Synchronization
import TaskEngine
import TaskWorker

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
    let created = Atomic<Int>(0)
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
        try await Task.sleep(for: .seconds(measured))
        let endCPU = try await redisCPU(redis), endCount = counters.lifecycles.load(ordering: .relaxed), end = ContinuousClock.now
        counters.stop.store(true, ordering: .relaxed)
        group.cancelAll()
        try? await group.waitForAll()
        let elapsed = Double((end - start).components.seconds) + Double((end - start).components.attoseconds) / 1e18
        let lifecycles = Double(endCount - startCount)
        let figures = Figures(lifecyclesPerSecond: lifecycles / elapsed, redisMicrosecondsPerLifecycle: (endCPU - startCPU) * 1e6 / max(lifecycles, 1))
        print("\(name.padding(toLength: 8, withPad: " ", startingAt: 0))  \(String(format: "%8.0f", figures.lifecyclesPerSecond)) lifecycles/s   \(String(format: "%6.1f", figures.redisMicrosecondsPerLifecycle)) µs Redis CPU per lifecycle")
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

    // 1. TaskStore: the lifecycle benchmark's loop.
    let direct = try store("bench-store")
    try await direct.loadScripts()
    let storeCounters = Counters()
    let storeFigures = try await measure("store", redis: redis, counters: storeCounters) {
        try await withThrowingTaskGroup(of: Void.self) { group in
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
    let worker = TaskWorker(store: library, configuration: TaskWorkerConfiguration(commandTypes: [commandType], concurrency: concurrency, lease: .seconds(30)), logger: logger) { context in
        for step in 1...10 { try await context.report(progress: Double(step * 10)) }
        workerCounters.lifecycles.add(1, ordering: .relaxed)
        return response
    }
    let workerFigures = try await measure("worker", redis: redis, counters: workerCounters) {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await worker.run() }
            for _ in 0..<4 {
                group.addTask {
                    while !workerCounters.stop.load(ordering: .relaxed) {
                        if workerCounters.created.load(ordering: .relaxed) - workerCounters.lifecycles.load(ordering: .relaxed) > 100 {
                            try await Task.sleep(for: .milliseconds(1))
                            continue
                        }
                        _ = try await library.create(newTask)
                        workerCounters.created.add(1, ordering: .relaxed)
                    }
                }
            }
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
