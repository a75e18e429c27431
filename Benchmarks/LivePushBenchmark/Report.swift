import Foundation

/// A watcher's record with where it ran.
struct WatcherResult: Sendable {
    var task: Int
    var replica: Int
    var record: WatcherRecord
}

/// Checks every watcher's events against what the worker did and measures the push latency.
struct Analysis {
    /// Push latency over all (heartbeat event, watcher) pairs, ns: event read by the watcher minus
    /// the heartbeat's response read by the worker, and minus the heartbeat's send.
    var fromResponse: [Int64] = []
    var fromSend: [Int64] = []
    /// fromResponse for watchers on the replica that took the heartbeat, and on the other one.
    var sameReplica: [Int64] = []
    var otherReplica: [Int64] = []
    var expectedEvents = 0
    var receivedEvents = 0
    var missing = 0
    var duplicates = 0
    var outOfOrder = 0
    /// Events whose version no heartbeat, claim, create or complete reported.
    var unmatched = 0
    var wrongProgress = 0
    var watchersComplete = 0
    var watchersEndedCleanly = 0
    var problems: [String] = []

    init(watchers: [WatcherResult], log: HeartbeatLog, tasks: Int, replicas: Int, completeVersions: [Int64]) {
        // Per task: version → global heartbeat number.
        var byVersion = [[Int64: Int]](repeating: [:], count: tasks)
        for i in log.version.indices where log.status[i] == 200 && log.version[i] > 0 {
            byVersion[i % tasks][log.version[i]] = i
        }
        let pairs = watchers.reduce(0) { $0 + $1.record.versions.count }
        fromResponse.reserveCapacity(pairs)
        fromSend.reserveCapacity(pairs)
        for watcher in watchers {
            let record = watcher.record
            let heartbeats = byVersion[watcher.task]
            // created (1), claimed (2), every heartbeat that changed the task, completed.
            var expected = Set(heartbeats.keys)
            expected.insert(1)
            expected.insert(2)
            if completeVersions[watcher.task] > 0 { expected.insert(completeVersions[watcher.task]) }
            expectedEvents += expected.count
            receivedEvents += record.versions.count
            var seen = Set<Int64>()
            var previous: Int64 = 0
            for (index, version) in record.versions.enumerated() {
                if !seen.insert(version).inserted { duplicates += 1; continue }
                if version < previous { outOfOrder += 1 }
                previous = max(previous, version)
                guard expected.contains(version) else { unmatched += 1; continue }
                guard let i = heartbeats[version] else { continue }
                if record.progress[index] != Int64(i / tasks + 1) { wrongProgress += 1 }
                let latency = record.received[index] - log.answered[i]
                fromResponse.append(latency)
                fromSend.append(record.received[index] - log.sent[i])
                let heartbeatReplica = (i / tasks + i % tasks) % replicas
                if heartbeatReplica == watcher.replica { sameReplica.append(latency) } else { otherReplica.append(latency) }
            }
            let lost = expected.subtracting(seen).count
            missing += lost
            if lost == 0 { watchersComplete += 1 }
            let clean = record.status == 200 && record.ended && record.sawCompleted && record.eventsAfterCompleted == 0
                && record.errorEvents.isEmpty && record.failure == nil && record.unparsable == 0
            if clean { watchersEndedCleanly += 1 }
            if (!clean || lost > 0) && problems.count < 10 {
                problems.append("watcher of task \(watcher.task) on replica \(watcher.replica + 1): status \(record.status), "
                    + "\(record.versions.count) events, \(lost) missing, ended \(record.ended), completed seen \(record.sawCompleted), "
                    + "errors \(record.errorEvents.prefix(2)), failure \(record.failure ?? "none")")
            }
        }
        fromResponse.sort()
        fromSend.sort()
        sameReplica.sort()
        otherReplica.sort()
    }
}

/// Value at quantile p of sorted nanoseconds, in milliseconds (nearest rank).
func percentile(_ sorted: [Int64], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let rank = min(sorted.count - 1, max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))
    return Double(sorted[rank]) / 1e6
}

func milliseconds(_ value: Double) -> String { String(format: "%.2f", value) }

/// "p50 0.80  p99 3.10  max 9.00  min -0.20 ms (n)" for sorted nanoseconds.
func distribution(_ sorted: [Int64]) -> String {
    guard !sorted.isEmpty else { return "no samples" }
    return "p50 \(milliseconds(percentile(sorted, 0.5)))  p90 \(milliseconds(percentile(sorted, 0.9)))  "
        + "p99 \(milliseconds(percentile(sorted, 0.99)))  p99.9 \(milliseconds(percentile(sorted, 0.999)))  "
        + "max \(milliseconds(Double(sorted.last!) / 1e6))  min \(milliseconds(Double(sorted.first!) / 1e6)) ms  (n=\(sorted.count))"
}

/// Heartbeat-side figures: achieved rate, response time, schedule lag, failures.
struct HeartbeatSummary {
    var sent = 0
    var ok = 0
    var failed: [String: Int] = [:]
    var seconds = 0.0
    var response: [Int64] = []
    var lag: [Int64] = []

    init(_ log: HeartbeatLog) {
        var lastSent: Int64 = log.started
        for i in log.sent.indices where log.sent[i] > 0 {
            sent += 1
            lastSent = max(lastSent, log.sent[i])
            lag.append(log.sent[i] - log.intended[i])
            if log.answered[i] > 0 { response.append(log.answered[i] - log.sent[i]) }
            if log.status[i] == 200 { ok += 1 } else { failed[log.status[i] == -1 ? "transport error" : "HTTP \(log.status[i])", default: 0] += 1 }
        }
        // Sending window: first intended send to the last actual one.
        seconds = Double(lastSent - log.started) / 1e9
        response.sort()
        lag.sort()
    }

    var rate: Double { seconds > 0 ? Double(max(0, sent - 1)) / seconds : 0 }
}
