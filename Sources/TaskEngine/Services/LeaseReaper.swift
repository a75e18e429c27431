import ServiceLifecycle

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
