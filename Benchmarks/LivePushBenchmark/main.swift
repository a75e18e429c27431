// Live push latency (issue 5): a worker's heartbeats reach the SSE watchers of the task on every
// replica. Creates and claims `--tasks` tasks, opens `--watchers` SSE streams spread evenly over the
// tasks and the replicas, then sends `--rate` heartbeats/s for `--seconds` (open loop, each with a
// distinct progress, alternating replicas per task) and records when every watcher read every event.
// Latency = event read by the watcher − heartbeat response read by the worker (same clock, same
// process). Then completes the tasks and checks that every stream ended after the terminal event.
// Run through `./dev bench live-push`, which starts Redis and two taskd replicas.
import Foundation
import NIOCore
import NIOPosix

let options = Options(CommandLine.arguments)
let endpoints = options.urls.map(endpoint)
let replicas = endpoints.count
let group = MultiThreadedEventLoopGroup(numberOfThreads: options.threads)
let driverLoop = group.next()
func say(_ text: String) { FileHandle.standardError.write(Data("live-push: \(text)\n".utf8)) }
func json(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

/// Polls `check` every 50 ms until it is true or `limit` passes; the time it took, or nil on timeout.
func waitUntil(_ limit: Duration, _ check: () async throws -> Bool) async throws -> Duration? {
    let started = ContinuousClock.now
    while ContinuousClock.now - started < limit {
        if try await check() { return ContinuousClock.now - started }
        try await Task.sleep(for: .milliseconds(50))
    }
    return nil
}

// 1. Tasks: created alternately on each replica, all claimed by one worker.
var control: [Connection] = []
for endpoint in endpoints {
    control.append(try await Connection.connect(host: endpoint.host, port: endpoint.port, authorization: options.authorization, on: group))
}
let commandType = "\(options.commandType).\(UInt32.random(in: 0...UInt32.max))"
var created: [String] = []
for index in 0..<options.tasks {
    let response = try await control[index % replicas].expect(OutgoingRequest(method: .POST, uri: "/v1/tasks", body: json(
        #"{"commandType":"\#(commandType)","description":"live push benchmark","params":{"index":\#(index)}}"#)), "create")
    guard let id = String(buffer: response.body).firstValue(of: "taskId") else { throw SetupFailed("create: no taskId") }
    created.append(id)
}
var leases: [String: String] = [:]
while leases.count < options.tasks {
    let response = try await control[leases.count % replicas].expect(OutgoingRequest(method: .POST, uri: "/v1/workers/claim", body: json(
        #"{"workerId":"live-bench-worker","commandTypes":["\#(commandType)"],"waitSeconds":1,"leaseSeconds":300}"#)), "claim")
    let text = String(buffer: response.body)
    guard response.status == 200, let id = text.firstValue(of: "taskId"), let token = text.firstValue(of: "leaseToken") else {
        throw SetupFailed("claim: got \(response.status) after \(leases.count) of \(options.tasks) tasks")
    }
    leases[id] = token
}
guard Set(created) == Set(leases.keys) else { throw SetupFailed("claimed tasks are not the created ones") }
let tasks = created.map { DrivenTask(id: $0, leaseToken: leases[$0]!) }
say("\(options.tasks) tasks created and claimed (commandType \(commandType))")

// 2. Watchers: watcher w watches task w % tasks on replica (w / tasks) % replicas, so every task has
// the same number of watchers (± 1) and they alternate between replicas.
let perTaskEvents = options.heartbeatsPerTask + 8
var watchers: [Watcher] = []
watchers.reserveCapacity(options.watchers)
for batch in stride(from: 0, to: options.watchers, by: 100) {
    let opened = try await withThrowingTaskGroup(of: Watcher.self) { openers in
        for w in batch..<min(options.watchers, batch + 100) {
            let task = w % options.tasks, replica = (w / options.tasks) % replicas
            openers.addTask {
                try await Watcher.open(task: task, taskId: tasks[task].id, replica: replica, host: endpoints[replica].host,
                                       port: endpoints[replica].port, authorization: options.authorization,
                                       expectedEvents: perTaskEvents, on: group)
            }
        }
        var opened: [Watcher] = []
        for try await watcher in openers { opened.append(watcher) }
        return opened
    }
    watchers += opened
}
// Ready once every watcher has the history (created, claimed): its subscription is in place.
func watcherStates() async throws -> [(newest: Int64, over: Bool)] {
    try await EventLoopFuture.whenAllSucceed(watchers.map { $0.progress() }, on: driverLoop).get()
}
guard try await waitUntil(.seconds(60), { try await watcherStates().allSatisfy { $0.newest >= 2 } }) != nil else {
    let states = try await watcherStates()
    throw SetupFailed("\(states.filter { $0.newest < 2 }.count) of \(options.watchers) watchers did not get the history in 60 s")
}
say("\(options.watchers) watchers streaming (\(options.watchers / options.tasks)–\((options.watchers + options.tasks - 1) / options.tasks) per task, over \(replicas) replicas)")

// 3. Load: heartbeats at the rate, CPU and memory sampled meanwhile.
var pools: [[Connection]] = []
for endpoint in endpoints {
    var pool: [Connection] = []
    for _ in 0..<options.workerConnections {
        pool.append(try await Connection.connect(host: endpoint.host, port: endpoint.port, authorization: options.authorization, on: driverLoop))
    }
    pools.append(pool)
}
let heartbeatPools = pools
let driver = try await driverLoop.submit {
    NIOLoopBound(HeartbeatDriver(loop: driverLoop, tasks: tasks, pools: heartbeatPools, total: options.totalHeartbeats, rate: options.rate), eventLoop: driverLoop)
}.get()
say("\(options.rate) heartbeats/s for \(options.seconds) s over \(options.workerConnections) connection(s) per replica")
let monitor = ProcessMonitor(options.pids)
let sampler = Task { await monitor.sampleUntilStopped() }
let loadStart = ContinuousClock.now
let finished = try await driverLoop.submit { driver.value.start() }.get()
// Bounded: every heartbeat answered, or the run's time plus 30 s.
let allAnswered = try await withThrowingTaskGroup(of: Bool.self) { group in
    group.addTask { try await finished.get(); return true }
    group.addTask { try await Task.sleep(for: .seconds(options.seconds + 30)); return false }
    let first = try await group.next() ?? false
    group.cancelAll()
    return first
}
let (usage, machineBusyTicks) = monitor.stop()
let loadElapsed = (ContinuousClock.now - loadStart).components
let loadSeconds = Double(loadElapsed.seconds) + Double(loadElapsed.attoseconds) / 1e18
sampler.cancel()
let log = try await driverLoop.submit { driver.value.result }.get()
if !allAnswered { say("not every heartbeat was answered within \(options.seconds + 30) s") }

// 4. Drain: every watcher gets its task's newest heartbeat event (bounded), then the tasks complete.
var newestPerTask = [Int64](repeating: 2, count: options.tasks)
for i in log.version.indices where log.status[i] == 200 { newestPerTask[i % options.tasks] = max(newestPerTask[i % options.tasks], log.version[i]) }
let drained = try await waitUntil(.seconds(10)) {
    try await watcherStates().enumerated().allSatisfy { $0.element.newest >= newestPerTask[watchers[$0.offset].task] }
}
var completeVersions = [Int64](repeating: 0, count: options.tasks)
for (index, task) in tasks.enumerated() {
    let response = try await control[index % replicas].send(OutgoingRequest(method: .POST, uri: "/v1/tasks/\(task.id)/complete", body: json(
        #"{"leaseToken":"\#(task.leaseToken)","response":{"resourceId":"\#(index)"}}"#)))
    if response.status == 200, let version = String(buffer: response.body).firstNumber(of: "version") { completeVersions[index] = version }
}
let ended = try await waitUntil(.seconds(15)) { try await watcherStates().allSatisfy(\.over) }
let records = try await EventLoopFuture.whenAllSucceed(watchers.map { $0.snapshot() }, on: driverLoop).get()
for watcher in watchers { try? await watcher.channel.close().get() }
for connection in control + pools.flatMap({ $0 }) { try? await connection.channel.close().get() }
try await group.shutdownGracefully()

// 5. Report.
let analysis = Analysis(watchers: zip(watchers, records).map { WatcherResult(task: $0.task, replica: $0.replica, record: $1) },
                        log: log, tasks: options.tasks, replicas: replicas, completeVersions: completeVersions)
let beats = HeartbeatSummary(log)
print("live push: \(options.tasks) tasks × \(options.watchers / options.tasks) watchers = \(options.watchers) watchers over \(replicas) replicas; "
    + "\(options.rate) heartbeats/s for \(options.seconds) s; load generator \(options.threads) thread(s)")
print("heartbeats: \(beats.sent) sent of \(options.totalHeartbeats) at \(String(format: "%.1f", beats.rate))/s, \(beats.ok) ok, failed \(beats.failed)")
print("  response   \(distribution(beats.response))")
print("  send lag   \(distribution(beats.lag))  (actual − scheduled send)")
print("push latency, event at watcher − heartbeat response at worker, all (event, watcher) pairs:")
print("  all        \(distribution(analysis.fromResponse))")
print("  same rep.  \(distribution(analysis.sameReplica))")
print("  other rep. \(distribution(analysis.otherReplica))")
print("  from send  \(distribution(analysis.fromSend))  (event at watcher − heartbeat sent)")
let early = analysis.fromResponse.filter { $0 < 0 }.count
print("  \(early) events (\(String(format: "%.2f", 100 * Double(early) / Double(max(1, analysis.fromResponse.count))))%) reached the watcher before the worker had the response")
print("events: \(analysis.expectedEvents) expected, \(analysis.receivedEvents) received, \(analysis.missing) missing, \(analysis.duplicates) duplicates, "
    + "\(analysis.outOfOrder) out of order, \(analysis.unmatched) unmatched, \(analysis.wrongProgress) wrong progress")
print("watchers: \(analysis.watchersComplete)/\(options.watchers) saw every event; \(analysis.watchersEndedCleanly)/\(options.watchers) ended cleanly after the terminal event"
    + "; drain after load \(drained.map { "\($0)" } ?? "timed out (10 s)"), streams over \(ended != nil ? "yes" : "not all in 15 s")")
for problem in analysis.problems { print("  problem: \(problem)") }
print(String(format: "resources over the %.1f s load:", loadSeconds))
for process in usage {
    let name = process.name + String(repeating: " ", count: max(0, 15 - process.name.count))
    print("  \(name)" + String(format: " cpu %5.1f%%  rss start %4lld MiB  end %4lld MiB  peak %4lld MiB",
                 process.cpuPercent(seconds: loadSeconds), process.start.rssKiB / 1024, process.end.rssKiB / 1024, process.peakRSSKiB / 1024))
}
if let machineBusyTicks {
    let all = Double(machineBusyTicks) / ProcessSample.ticksPerSecond / loadSeconds * 100
    let ours = usage.reduce(0) { $0 + $1.cpuPercent(seconds: loadSeconds) }
    print(String(format: "  machine: %.0f%% busy of %d%% (%d cores); processes outside the benchmark %.0f%%",
                 all, 100 * ProcessInfo.processInfo.activeProcessorCount, ProcessInfo.processInfo.activeProcessorCount, max(0, all - ours)))
}
let cpu = usage.map { "cpu_\($0.name.replacingOccurrences(of: " ", with: "_"))=\(String(format: "%.1f", $0.cpuPercent(seconds: loadSeconds)))" }
print("RESULT p50_ms=\(milliseconds(percentile(analysis.fromResponse, 0.5))) p99_ms=\(milliseconds(percentile(analysis.fromResponse, 0.99))) "
    + "max_ms=\(milliseconds(percentile(analysis.fromResponse, 1))) rate=\(String(format: "%.1f", beats.rate)) missing=\(analysis.missing) "
    + "duplicates=\(analysis.duplicates) clean=\(analysis.watchersEndedCleanly)/\(options.watchers) " + cpu.joined(separator: " "))
let lossless = analysis.missing == 0 && analysis.duplicates == 0 && analysis.outOfOrder == 0 && analysis.watchersEndedCleanly == options.watchers
exit(lossless && allAnswered && beats.failed.isEmpty ? 0 : 1)

extension String {
    /// The string value of the first `"key":"…"` (no escapes inside: ids and tokens).
    func firstValue(of key: String) -> String? {
        guard let start = range(of: "\"\(key)\":\"")?.upperBound, let end = self[start...].firstIndex(of: "\"") else { return nil }
        return String(self[start..<end])
    }

    func firstNumber(of key: String) -> Int64? {
        guard let start = range(of: "\"\(key)\":")?.upperBound else { return nil }
        return Int64(self[start...].prefix { $0.isNumber })
    }
}
