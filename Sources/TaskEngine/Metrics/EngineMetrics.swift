import CoreMetrics
import Synchronization

/// The engine's figures, through swift-metrics (the executable chooses the backend; without one
/// they cost nothing). Names follow Prometheus: `taskd_…`, base units, `_total` on counters.
///
/// Counted where this process runs a transition: each replica and each worker process counts its
/// own calls, and a sum over them is the whole system's.
final class EngineMetrics: Sendable {
    static let shared = EngineMetrics()

    static let transitions = "taskd_task_transitions_total"
    static let waitSeconds = "taskd_task_wait_seconds"
    static let runSeconds = "taskd_task_run_seconds"
    static let leaseExpiries = "taskd_lease_expiries_total"
    static let underReplicated = "taskd_redis_under_replicated_writes_total"

    /// Most distinct commandType label values; the rest are counted as `other`. commandTypes are
    /// chosen by clients, and each value is a time series per family.
    static let commandTypeLabelLimit = 100

    private struct Handles {
        var transitions: [String: Counter] = [:]
        var wait: [String: Timer] = [:]
        var run: [String: Timer] = [:]
        var commandTypes: Set<String> = []
    }

    private let handles = Mutex(Handles())
    let underReplicated = Counter(label: EngineMetrics.underReplicated)
    private let expiries: [String: Counter] = Dictionary(uniqueKeysWithValues: ["impacted", "requeued", "worker_lost", "cancelled"].map {
        ($0, Counter(label: EngineMetrics.leaseExpiries, dimensions: [("outcome", $0)]))
    })

    /// Counts one transition; `now` is the engine's clock at the call (ms).
    func record(_ observation: TransitionObservation, now: Int64) {
        let (counter, wait, run) = handles.withLock { handles -> (Counter, Timer?, Timer?) in
            var commandType = observation.commandType
            if !handles.commandTypes.contains(commandType) {
                if handles.commandTypes.count >= Self.commandTypeLabelLimit { commandType = "other" }
                handles.commandTypes.insert(commandType)
            }
            let key = commandType + " " + observation.status.rawValue
            let counter = handles.transitions[key] ?? Counter(
                label: Self.transitions, dimensions: [("command_type", commandType), ("status", observation.status.rawValue)])
            handles.transitions[key] = counter
            var wait: Timer?
            if observation.createdAt != nil {
                wait = handles.wait[commandType] ?? Timer(label: Self.waitSeconds, dimensions: [("command_type", commandType)])
                handles.wait[commandType] = wait
            }
            var run: Timer?
            if observation.startedAt != nil {
                run = handles.run[commandType] ?? Timer(label: Self.runSeconds, dimensions: [("command_type", commandType)])
                handles.run[commandType] = run
            }
            return (counter, wait, run)
        }
        counter.increment()
        if let wait, let createdAt = observation.createdAt { wait.recordMilliseconds(max(0, now - createdAt)) }
        if let run, let startedAt = observation.startedAt { run.recordMilliseconds(max(0, now - startedAt)) }
    }

    /// Counts what one pass of the lease reaper did.
    func record(_ reaped: ReapedLeases) {
        if reaped.impacted > 0 { expiries["impacted"]?.increment(by: reaped.impacted) }
        if reaped.requeued > 0 { expiries["requeued"]?.increment(by: reaped.requeued) }
        if reaped.failed > 0 { expiries["worker_lost"]?.increment(by: reaped.failed) }
        if reaped.cancelled > 0 { expiries["cancelled"]?.increment(by: reaped.cancelled) }
    }
}
