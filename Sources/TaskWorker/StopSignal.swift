import Synchronization
import TaskEngine

/// Why an attempt's handler is being stopped before it returned.
enum StopReason: Sendable, Equatable {
    /// An operator asked to cancel: the handler is cancelled and the cancel acknowledged.
    case cancelRequested
    /// The lease is gone: the handler is cancelled and nothing is written for this attempt again.
    case leaseLost
    /// The worker is shutting down and the grace period is over: the task is handed back.
    case shutdown
}

/// The first stop reason of an attempt, and a bell that wakes its heartbeat loop when it is set.
final class StopSignal: Sendable {
    private let reason = Mutex<StopReason?>(nil)
    let bell = Doorbell()

    var current: StopReason? { reason.withLock { $0 } }

    /// Sets the reason unless one is set already (the first one wins); rings the bell.
    func stop(_ why: StopReason) {
        let changed = reason.withLock { reason -> Bool in
            guard reason == nil else { return false }
            reason = why
            return true
        }
        if changed { bell.ring() }
    }
}
