import ServiceLifecycle

/// Cleans the indexes of finished tasks whose result TTL ran out, so nothing grows without bound.
struct RetentionJanitor: Service {
    let store: TaskStore

    func run() async {
        await runPeriodically(every: store.configuration.retentionInterval, name: "retention-janitor", logger: store.logger) {
            try await store.cleanExpired()
        }
    }
}
