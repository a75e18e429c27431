import Logging
import ServiceLifecycle

/// Runs `pass` every `interval` until graceful shutdown. A failed pass (Redis away) is logged once
/// per outage and retried at the next interval; it never ends the service.
func runPeriodically(
    every interval: Duration, name: String, logger: Logger, _ pass: @escaping @Sendable () async throws -> Void
) async {
    await cancelWhenGracefulShutdown {
        var failing = false
        while !Task.isCancelled {
            do {
                try await pass()
                if failing {
                    logger.info("background job recovered", metadata: ["job": "\(name)"])
                    failing = false
                }
            } catch {
                if !failing && !Task.isCancelled {
                    logger.warning("background job failed; retrying", metadata: ["job": "\(name)", "error": "\(error)"])
                    failing = true
                }
            }
            try? await Task.sleep(for: interval)
        }
    }
}

/// Turns overdue leases into `impacted` tasks and lost ones into retries or `worker_lost` failures.
struct LeaseReaper: Service {
    let store: TaskStore

    func run() async {
        await runPeriodically(every: store.configuration.leaseReaperInterval, name: "lease-reaper", logger: store.logger) {
            let reaped = try await store.reapLeases()
            if reaped.total > 0 {
                store.logger.info("leases reaped", metadata: [
                    "impacted": "\(reaped.impacted)", "requeued": "\(reaped.requeued)",
                    "failed": "\(reaped.failed)", "cancelled": "\(reaped.cancelled)",
                ])
            }
        }
    }
}

/// Moves delayed tasks (and retries after backoff) into their queues when their time comes.
struct DelayedPromoter: Service {
    let store: TaskStore

    func run() async {
        await runPeriodically(every: store.configuration.delayedPromoterInterval, name: "delayed-promoter", logger: store.logger) {
            try await store.promoteDelayed()
        }
    }
}

/// Cleans the indexes of finished tasks whose result TTL ran out, so nothing grows without bound.
struct RetentionJanitor: Service {
    let store: TaskStore

    func run() async {
        await runPeriodically(every: store.configuration.retentionInterval, name: "retention-janitor", logger: store.logger) {
            try await store.cleanExpired()
        }
    }
}
