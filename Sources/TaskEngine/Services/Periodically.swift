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
