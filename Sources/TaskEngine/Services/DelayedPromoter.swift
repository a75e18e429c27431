import ServiceLifecycle

/// Moves delayed tasks (and retries after backoff) into their queues when their time comes.
struct DelayedPromoter: Service {
    let store: TaskStore

    func run() async {
        await runPeriodically(every: store.configuration.delayedPromoterInterval, name: "delayed-promoter", logger: store.logger) {
            try await store.promoteDelayed()
        }
    }
}
