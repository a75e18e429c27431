import Dispatch
import Foundation
import Logging

/// A deadline for SIGTERM that does not depend on the concurrency pool. ServiceLifecycle hears the
/// signal through an AsyncStream that a pool task reads, and runs the whole graceful shutdown on
/// the pool; a replica whose pool is backlogged (the full fault suite: a debug build on two busy
/// cores, SSE fan-out for three watchers) heard its SIGTERM 6 s late and exited after 13–20 s.
/// This source fires on a serial queue of its own (Dispatch gives it a thread even when every
/// other one is busy), starts the clock on a thread of its own, and ends the process when the
/// deadline passes.
enum ShutdownDeadline {
    private static let queue = DispatchQueue(label: "taskd.shutdown-deadline", qos: .userInteractive)
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []

    /// Arms it for SIGTERM and SIGINT: `deadline` after the first of them, exit status 1.
    static func arm(_ deadline: Duration, logger: Logger) {
        for signal in [SIGTERM, SIGINT] {
            let source = DispatchSource.makeSignalSource(signal: signal, queue: queue)
            source.setEventHandler {
                let seconds = Double(deadline.components.seconds) + Double(deadline.components.attoseconds) / 1e18
                Thread.detachNewThread {
                    Thread.sleep(forTimeInterval: seconds)
                    logger.error("shutdown did not finish in time; exiting", metadata: ["shutdown.deadline_seconds": "\(seconds)"])
                    exit(1)
                }
                // Once is enough: the clock runs from the first signal.
                for source in sources { source.cancel() }
            }
            source.resume()
            sources.append(source)
        }
    }
}
