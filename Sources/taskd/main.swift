import Foundation
import Logging
import RedisClient

// taskd will serve its HTTP API once the API issue lands; until then it checks that Redis answers
// and says so, so `./dev run` already proves the build, the Redis client and the configuration.
let logger = Logger(label: "taskd")
let url = ProcessInfo.processInfo.environment["TASKD_REDIS_URL"] ?? "redis://127.0.0.1:6379"
do {
    let client = try RedisClient(url: url, logger: logger)
    let reply = try await client.withRunning { try await $0.send(.ping()) }
    print("taskd: Redis at \(client.configuration.endpoints[0]) answered \(reply).")
    print("taskd: the HTTP API is not built yet (see the open issues); nothing to serve.")
} catch {
    // The URL may carry a password, so only the error (which names host and port) is printed.
    print("taskd: cannot use Redis: \(error)")
    exit(1)
}
