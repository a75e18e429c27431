import TaskEngine
import TaskEvents

/// Ends an event stream opened with a browser session once the session ends — logged out on any
/// replica, expired, or its key deleted — rather than letting it run for as long as the tab stays
/// open. Streams opened with header credentials are not watched (their key is checked per request).
enum SessionWatch {
    /// How often a watched stream asks Redis whether its session is still live.
    static let interval: Duration = .seconds(2)

    /// Starts watching; cancel the task when the stream ends. nil without a session.
    static func start<Item: Sendable>(_ session: BrowserSession?, store: TaskStore, ending subscription: FeedSubscription<Item>) -> Task<Void, Never>? {
        guard let session else { return nil }
        return Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard !Task.isCancelled else { return }
                // A Redis hiccup is not a logout: only a session known to be gone ends the stream.
                if let live = try? await store.sessions.isLive(session), !live {
                    subscription.end("the browser session ended; log in again")
                    return
                }
            }
        }
    }
}
