import CoreMetrics

/// The live feeds' figures, through swift-metrics (the executable chooses the backend).
enum EventMetrics {
    /// Open watch streams (both SSE routes) on this replica.
    static let watchers = Meter(label: "taskd_sse_watchers")
    /// Watchers dropped because they fell `bufferLimit` items behind.
    static let slowWatchersDropped = Counter(label: "taskd_sse_slow_watchers_dropped_total")
    /// Keyspace-notification gaps (the pub/sub connection was lost, so every feed re-read).
    static let notificationGaps = Counter(label: "taskd_keyspace_notification_gaps_total")
}
