import CoreMetrics
import Foundation
import Prometheus
import Synchronization
import TaskEngine

/// What `/metrics` serves: the registry every swift-metrics figure of this process lands in, plus
/// the figures read at scrape time (tasks by state and ready depth from Redis, process figures).
public final class MetricsExport: Sendable {
    public let factory: TaskdMetricsFactory
    /// The commandTypes whose ready-queue depth is reported (one `ZCARD` each per shard and scrape).
    public let readyCommandTypes: [String]
    /// How long the figures read from Redis are reused: scrapes within it cost no Redis call.
    public let redisReadLifetime: Duration
    private let started = ContinuousClock.now
    /// How many requests are in flight now and the limit now (``AdmissionControl``), read at scrape
    /// time: no cost per request.
    private let requestsInFlight = Mutex<(@Sendable () -> (inFlight: Int, limit: Int))?>(nil)
    private let redisRead = Mutex<(task: Task<TaskCounts, any Error>, at: ContinuousClock.Instant)?>(nil)

    public init(factory: TaskdMetricsFactory, readyCommandTypes: [String], redisReadLifetime: Duration = .seconds(2)) {
        self.factory = factory
        self.readyCommandTypes = readyCommandTypes
        self.redisReadLifetime = redisReadLifetime
        // Families recorded only when something happens are there from the first scrape, at 0.
        for connection in ["command", "pubsub"] { _ = factory.makeCounter(label: "taskd_redis_reconnects_total", dimensions: [("connection", connection)]) }
        for name in ["taskd_sse_slow_watchers_dropped_total", "taskd_keyspace_notification_gaps_total", "taskd_metrics_redis_read_errors_total"] {
            _ = factory.makeCounter(label: name, dimensions: [])
        }
        _ = factory.makeMeter(label: "taskd_sse_watchers", dimensions: [])
        for admission in ["new_work", "regular"] { _ = factory.makeCounter(label: "taskd_http_requests_shed_total", dimensions: [("class", admission)]) }
    }

    func reportRequestsInFlight(_ read: @escaping @Sendable () -> (inFlight: Int, limit: Int)) {
        requestsInFlight.withLock { $0 = read }
    }

    /// The Prometheus text of every family, with the scrape-time figures brought up to date first.
    func scrape(_ store: TaskStore) async -> [UInt8] {
        await updateRedisFigures(store)
        updateProcessFigures()
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 * 1024)
        factory.registry.emit(into: &buffer)
        return buffer
    }

    /// Tasks by state and ready depth by commandType: ``TaskStore/counts(readyCommandTypes:)``, one
    /// pipelined round trip per master with 4 + commandTypes `ZCARD`s per shard, at most once per
    /// ``redisReadLifetime`` however many scrape (concurrent scrapes share one read).
    private func updateRedisFigures(_ store: TaskStore) async {
        let now = ContinuousClock.now
        let task = redisRead.withLock { read -> Task<TaskCounts, any Error> in
            if let read, now - read.at < redisReadLifetime { return read.task }
            let commandTypes = readyCommandTypes
            let task = Task { try await store.counts(readyCommandTypes: commandTypes) }
            read = (task, now)
            return task
        }
        do {
            let counts = try await task.value
            gauge("taskd_tasks", [("state", "queued")]).set(Double(max(0, counts.unfinished - counts.leased - counts.delayed)))
            gauge("taskd_tasks", [("state", "delayed")]).set(Double(counts.delayed))
            gauge("taskd_tasks", [("state", "leased")]).set(Double(counts.leased))
            gauge("taskd_tasks", [("state", "finished")]).set(Double(counts.finished))
            for commandType in readyCommandTypes {
                gauge("taskd_ready_tasks", [("command_type", commandType)]).set(Double(counts.ready[commandType] ?? 0))
            }
        } catch {
            // The other figures are still worth serving; the next scrape reads again.
            redisRead.withLock { read in if read?.task == task { read = nil } }
            factory.makeCounter(label: "taskd_metrics_redis_read_errors_total", dimensions: []).increment(by: 1)
        }
    }

    private func updateProcessFigures() {
        if let memory = ProcessFigures.residentMemoryBytes() { gauge("taskd_process_resident_memory_bytes").set(Double(memory)) }
        if let fds = ProcessFigures.openFileDescriptors() { gauge("taskd_process_open_fds").set(Double(fds)) }
        let uptime = ContinuousClock.now - started
        gauge("taskd_process_uptime_seconds").set(Double(uptime.components.seconds) + Double(uptime.components.attoseconds) / 1e18)
        if let read = requestsInFlight.withLock({ $0 }) {
            let (inFlight, limit) = read()
            gauge("taskd_http_requests_in_flight").set(Double(inFlight))
            gauge("taskd_http_requests_in_flight_limit").set(Double(limit))
        }
        gauge("taskd_build_info", [("version", ProcessFigures.version), ("swift", ProcessFigures.swiftVersion)]).set(1.0)
    }

    private func gauge(_ name: String, _ labels: [(String, String)] = []) -> Prometheus.Gauge {
        factory.registry.makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: MetricFamilies.all[name]?.help ?? ""), labels: labels)
    }
}
