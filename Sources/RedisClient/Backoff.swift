/// Exponential backoff with full jitter for reconnect attempts: 50 ms, 100 ms, … up to `maximum`.
struct Backoff {
    var initial: Duration = .milliseconds(50)
    var maximum: Duration = .seconds(2)
    private var attempt = 0

    init(initial: Duration = .milliseconds(50), maximum: Duration = .seconds(2)) {
        self.initial = initial
        self.maximum = maximum
    }

    mutating func reset() { attempt = 0 }

    /// Whether the last attempt failed (an outage is under way).
    var hasFailed: Bool { attempt > 0 }

    /// The next delay; jitter keeps many replicas from reconnecting in lockstep after an outage.
    mutating func next() -> Duration {
        let factor = 1 << min(attempt, 16)
        attempt += 1
        let ceiling = min(initial * factor, maximum)
        let ceilingMs = max(1, Int(ceiling.components.seconds * 1000 + ceiling.components.attoseconds / 1_000_000_000_000_000))
        return .milliseconds(Int.random(in: ceilingMs / 2...ceilingMs))
    }
}
