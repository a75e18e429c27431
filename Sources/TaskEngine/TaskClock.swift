import Foundation
import Synchronization

/// Where the engine gets "now" from. Scripts never read Redis's clock: time is an argument, so tests
/// can pin it and replicas with skewed clocks still take legal steps.
public protocol TaskClock: Sendable {
    /// Milliseconds since the Unix epoch.
    func now() -> Int64
}

/// The wall clock.
public struct SystemClock: TaskClock {
    public init() {}
    public func now() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }
}

/// A clock that only moves when told to: for tests of leases, backoff and expiry.
public final class PinnedClock: TaskClock {
    private let current: Mutex<Int64>

    public init(_ milliseconds: Int64 = SystemClock().now()) {
        current = Mutex(milliseconds)
    }

    public func now() -> Int64 { current.withLock { $0 } }

    public func advance(by duration: Duration) {
        let (seconds, attoseconds) = duration.components
        current.withLock { $0 += seconds * 1000 + attoseconds / 1_000_000_000_000_000 }
    }

    public func set(_ milliseconds: Int64) {
        current.withLock { $0 = milliseconds }
    }
}
