import Foundation
import Synchronization

/// CPU time and resident memory of a process, from /proc (Linux).
struct ProcessSample: Sendable {
    /// User + system CPU, clock ticks.
    var ticks: Int64
    var rssKiB: Int64

    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// nil when the process is gone.
    static func read(_ pid: Int32?) -> ProcessSample? {
        let dir = pid.map { "/proc/\($0)" } ?? "/proc/self"
        guard let stat = try? String(contentsOfFile: "\(dir)/stat", encoding: .utf8),
              let status = try? String(contentsOfFile: "\(dir)/status", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // After "pid (comm) ": state is field 3, utime field 14, stime field 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Int64(fields[11]), let system = Int64(fields[12]) else { return nil }
        let rss = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
            .flatMap { line in line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int64($0) } }
        return ProcessSample(ticks: user + system, rssKiB: rss ?? 0)
    }
}

/// Busy and total CPU time of the whole machine (all cores), from the first line of /proc/stat, in ticks.
struct MachineSample: Sendable {
    var busy: Int64
    var total: Int64

    static func read() -> MachineSample? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = text.split(separator: "\n").first, line.hasPrefix("cpu ") else { return nil }
        // user nice system idle iowait irq softirq steal …
        let values = line.split(separator: " ").dropFirst().compactMap { Int64($0) }
        guard values.count >= 8 else { return nil }
        let total = values.prefix(8).reduce(0, +)
        return MachineSample(busy: total - values[3] - values[4], total: total)
    }
}

/// One watched process over the load: CPU between `start` and `end`, RSS at both and at its peak
/// (sampled every 250 ms).
struct ProcessUsage: Sendable {
    var name: String
    var start: ProcessSample
    var end: ProcessSample
    var peakRSSKiB: Int64

    func cpuPercent(seconds: Double) -> Double {
        Double(end.ticks - start.ticks) / ProcessSample.ticksPerSecond / seconds * 100
    }
}

/// Samples the named processes (and this one, as "load generator") until stopped.
final class ProcessMonitor: Sendable {
    private let targets: [(name: String, pid: Int32?)]
    private let state: Mutex<(starts: [ProcessSample?], peaks: [Int64], running: Bool)>
    private let machineStart = MachineSample.read()

    init(_ pids: [(name: String, pid: Int32)]) {
        targets = pids.map { ($0.name, Optional($0.pid)) } + [("load generator", nil)]
        let starts = targets.map { ProcessSample.read($0.pid) }
        state = Mutex((starts, starts.map { $0?.rssKiB ?? 0 }, true))
    }

    /// Samples RSS every 250 ms until ``stop()``; run it as a task of its own.
    func sampleUntilStopped() async {
        while state.withLock({ $0.running }) {
            try? await Task.sleep(for: .milliseconds(250))
            let samples = targets.map { ProcessSample.read($0.pid) }
            state.withLock { state in
                for (index, sample) in samples.enumerated() { state.peaks[index] = max(state.peaks[index], sample?.rssKiB ?? 0) }
            }
        }
    }

    /// Takes the end samples and stops sampling: each process's usage, and the machine's busy CPU
    /// time over the same span in ticks (every process, ours and others; nil when unreadable).
    func stop() -> (processes: [ProcessUsage], machineBusyTicks: Int64?) {
        let ends = targets.map { ProcessSample.read($0.pid) }
        let machineEnd = MachineSample.read()
        let processes = state.withLock { state in
            state.running = false
            return targets.indices.compactMap { index -> ProcessUsage? in
                guard let start = state.starts[index], let end = ends[index] else { return nil }
                return ProcessUsage(name: targets[index].name, start: start, end: end, peakRSSKiB: max(state.peaks[index], end.rssKiB))
            }
        }
        let busy = machineStart.flatMap { start in machineEnd.map { $0.busy - start.busy } }
        return (processes, busy)
    }
}
