import Logging
import ServiceLifecycle
import TaskEngine

/// Loads the scripts and creates the first admin once Redis answers, retrying while it does not;
/// the API serves meanwhile (a request that needs Redis gets 503 until then).
struct BootstrapService: Service, CustomStringConvertible {
    let store: TaskStore
    let keys: APIKeyStore
    let admin: (key: String, secret: String)?
    let logger: Logger

    /// What ServiceLifecycle prints about this service: never the admin secret it holds.
    var description: String { "BootstrapService" }

    func run() async throws {
        var attempt = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await store.loadScripts()
                if let admin {
                    try await keys.put(key: admin.key, secret: admin.secret, role: .admin, name: "TASKD_ADMIN_KEY")
                    logger.info("admin credential ready", metadata: ["apikey.key": "\(admin.key)"])
                }
                logger.info("taskd ready: scripts loaded")
                // A service that returns ends the whole group: stay until shutdown.
                try? await gracefulShutdown()
                return
            } catch {
                if attempt % 10 == 0 {
                    logger.warning("waiting for Redis to load scripts", metadata: ["error": "\(error)"])
                }
                attempt += 1
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
    }
}
